"""``kith settings``: list, get, set and reset settings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.models import SettingState

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``settings`` command and its actions."""
    command = commands.add_parser("settings", help="view and change settings")
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)

    list_ = actions.add_parser("list", help="list every setting with its value")
    list_.add_argument("--json", action="store_true", help="print machine-readable output")
    list_.set_defaults(handler=run_list)

    get = actions.add_parser("get", help="print one setting")
    get.add_argument("key")
    get.add_argument("--json", action="store_true", help="print machine-readable output")
    get.set_defaults(handler=run_get)

    set_ = actions.add_parser("set", help="change a setting")
    set_.add_argument("key")
    set_.add_argument("value", help="lists are comma-separated; booleans true/false")
    set_.add_argument("--json", action="store_true", help="print machine-readable output")
    set_.set_defaults(handler=run_set)

    reset = actions.add_parser("reset", help="return a setting to its default")
    reset.add_argument("key")
    reset.add_argument("--json", action="store_true", help="print machine-readable output")
    reset.set_defaults(handler=run_reset)


def _print_one(state: SettingState, as_json: bool) -> None:
    from kith.cli.output import print_json, print_line
    from kith.settings import format_value

    if as_json:
        print_json(state.to_json())
    else:
        print_line(format_value(state.value))


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    """List all settings."""
    from kith.cli.output import print_json, print_table
    from kith.settings import format_value

    states: list[SettingState] = ctx.with_backend(lambda b: b.settings())
    if args.json:
        print_json([s.to_json() for s in states])
        return 0
    rows = [
        [s.key, format_value(s.value) or '""', "" if s.is_default else "(set)", s.help]
        for s in states
    ]
    print_table(["KEY", "VALUE", "", "DESCRIPTION"], rows)
    return 0


def run_get(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print one setting's value."""
    _print_one(ctx.with_backend(lambda b: b.get_setting(args.key)), args.json)
    return 0


def run_set(args: argparse.Namespace, ctx: CliContext) -> int:
    """Change a setting and print the stored value."""
    _print_one(ctx.with_backend(lambda b: b.set_setting(args.key, args.value)), args.json)
    return 0


def run_reset(args: argparse.Namespace, ctx: CliContext) -> int:
    """Reset a setting and print the default now in effect."""
    _print_one(ctx.with_backend(lambda b: b.reset_setting(args.key)), args.json)
    return 0
