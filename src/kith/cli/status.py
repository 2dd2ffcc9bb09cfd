"""``kith status``: your own status, what contacts see, and the connection.

With a node running the answer comes from it (``connection`` is
``connected`` or ``disconnected``); otherwise from the database
(``connection`` is ``not running``).
"""

from __future__ import annotations

import argparse
from typing import Any

from kith.cli.context import CliContext

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``status`` command."""
    parser: argparse.ArgumentParser = commands.add_parser("status", help="your own status")
    parser.add_argument("--json", action="store_true", help="print machine-readable output")
    parser.set_defaults(handler=run_show)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    set_ = actions.add_parser("set", help="set your status: online, away, busy or invisible")
    set_.add_argument("status", help="online, away, busy or invisible")
    set_.add_argument(
        "--text",
        help="a short status message (at most 140 characters and 200 bytes of UTF-8)",
    )
    set_.add_argument("--json", action="store_true", help="print machine-readable output")
    set_.set_defaults(handler=run_set)


def _print(status: Any, as_json: bool) -> None:
    from kith.cli.output import print_json, print_line

    if as_json:
        print_json(status.to_json())
        return
    print_line(status.status + (f" — {status.text}" if status.text else ""))
    if status.effective:
        print(f"contacts see: {status.effective} (node: {status.connection})")


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print the own status."""
    _print(ctx.with_backend(lambda b: b.status()), args.json)
    return 0


def run_set(args: argparse.Namespace, ctx: CliContext) -> int:
    """Change the own status."""
    _print(ctx.with_backend(lambda b: b.set_status(args.status, args.text)), args.json)
    return 0
