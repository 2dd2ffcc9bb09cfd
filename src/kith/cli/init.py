"""``kith init``: create the data directory and a new identity."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.keyprotect import Protection

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``init`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "init", help="create a new identity and encrypted database"
    )
    parser.add_argument("--name", default="", help="your display name")
    parser.add_argument(
        "--passphrase",
        action="store_true",
        help="protect the database key with a passphrase even if an OS key store exists",
    )
    parser.add_argument(
        "--allow-weak",
        action="store_true",
        help="accept a passphrase that is easy to guess (refused otherwise)",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable output")
    parser.set_defaults(handler=run)


def protection_for(force_passphrase: bool) -> Protection:
    """Passphrase if asked for (flag or KITH_PASSPHRASE set), else the OS key store."""
    import os

    from kith.keyprotect import choose_protection
    from kith.passphrases import ENV_PASSPHRASE

    forced = force_passphrase or os.environ.get(ENV_PASSPHRASE) is not None
    return choose_protection(force_passphrase=forced)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Create the identity and print its ID."""
    from kith.account import create_account
    from kith.cli.output import print_json, print_pairs
    from kith.contacts import clean_display_name
    from kith.safety import format_digits

    name = clean_display_name(args.name) if args.name else ""
    protection = protection_for(args.passphrase)
    passphrases = ctx.passphrases()
    if not args.allow_weak:
        from kith.passphrase_strength import StrengthChecked

        passphrases = StrengthChecked(passphrases, user_inputs=(name, "kith"))
    info = create_account(ctx.data_dir, name=name, protection=protection, passphrases=passphrases)
    if args.json:
        print_json({**info.to_json(), "data_dir": str(ctx.data_dir.path)})
        return 0
    print_pairs(
        [
            ("Kith ID", info.kith_id),
            ("Name", info.name or "(none)"),
            ("Fingerprint", format_digits(info.fingerprint)),
            ("Data directory", str(ctx.data_dir.path)),
            ("Key protected by", protection.value),
        ]
    )
    return 0
