"""``kith id`` and ``kith name set``: the local identity."""

from __future__ import annotations

import argparse
from typing import Any

from kith.cli.context import CliContext

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``id`` and ``name`` commands."""
    parser: argparse.ArgumentParser = commands.add_parser("id", help="show your ID")
    parser.add_argument("--json", action="store_true", help="print machine-readable output")
    parser.set_defaults(handler=run_id)

    name = commands.add_parser("name", help="your display name")
    actions = name.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser("set", help="change your display name")
    set_.add_argument(
        "name", help="the new display name (at most 64 characters and 96 bytes of UTF-8)"
    )
    set_.set_defaults(handler=run_name_set)


def run_id(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print the ID, name and fingerprint."""
    from kith.cli.output import print_json, print_pairs
    from kith.safety import format_digits

    info = ctx.with_backend(lambda b: b.identity())
    if args.json:
        print_json(info.to_json())
    else:
        print_pairs(
            [
                ("Kith ID", info.kith_id),
                ("Name", info.name or "(none)"),
                ("Fingerprint", format_digits(info.fingerprint)),
            ]
        )
    return 0


def run_name_set(args: argparse.Namespace, ctx: CliContext) -> int:
    """Change the display name."""
    info = ctx.with_backend(lambda b: b.set_name(args.name))
    print(f"Your name is now {info.name}")
    return 0
