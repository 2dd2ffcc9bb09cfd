"""Entry point of the ``kith`` command: global options, dispatch, error reporting.

Exit codes: 0 success, 1 a clear error on stderr (``kith: <message>``, no
traceback; also when input ends at a prompt, Ctrl-D), 2 usage error (from
argparse), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kith import __version__
from kith.cli import backup as backup_cli
from kith.cli import contacts as contacts_cli
from kith.cli import demo as demo_cli
from kith.cli import files as files_cli
from kith.cli import groups as groups_cli
from kith.cli import identity as identity_cli
from kith.cli import init as init_cli
from kith.cli import messages as messages_cli
from kith.cli import open as open_cli
from kith.cli import passphrase as passphrase_cli
from kith.cli import run as run_cli
from kith.cli import search as search_cli
from kith.cli import settings as settings_cli
from kith.cli import status as status_cli
from kith_proto.help_format import DefaultsHelpFormatter

__all__ = ["build_parser", "main"]

_COMMANDS = (
    init_cli,
    run_cli,
    open_cli,
    identity_cli,
    status_cli,
    contacts_cli,
    messages_cli,
    groups_cli,
    files_cli,
    search_cli,
    settings_cli,
    backup_cli,
    passphrase_cli,
    demo_cli,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose ``--help`` shows defaults, subcommands' too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = _Parser(
        prog="kith",
        description="Kith: a private, end-to-end encrypted, peer-to-peer messenger.",
        epilog="KITH_HOME sets the data directory; KITH_PASSPHRASE supplies the passphrase.",
    )
    parser.add_argument("--version", action="version", version=f"kith {__version__}")
    parser.add_argument(
        "--data-dir", metavar="DIR", help="data directory (default: $KITH_HOME or per-user dir)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.register(commands)
    return parser


def _fail(message: str) -> int:
    from kith.terminal_text import for_terminal

    lines = "\n".join(for_terminal(line) for line in message.split("\n"))
    sys.stderr.write(f"kith: {lines}\n")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code."""
    args = build_parser().parse_args(argv)
    from kith.cli.context import CliContext
    from kith.errors import KithError

    try:
        return int(args.handler(args, CliContext.from_args(args)))
    except KithError as exc:
        return _fail(exc.message)
    except KeyboardInterrupt:
        _fail("interrupted (Ctrl-C): nothing more was done")
        return 130
    except EOFError:
        return _fail("no input (Ctrl-D or a closed stdin): nothing more was done")
    except BrokenPipeError:
        return 1
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}")


if __name__ == "__main__":
    sys.exit(main())
