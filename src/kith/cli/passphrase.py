"""``kith passphrase change``: rewrap the database key under a new passphrase."""

from __future__ import annotations

import argparse
from typing import Any

from kith.cli.context import CliContext

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``passphrase`` command and its actions."""
    command = commands.add_parser("passphrase", help="manage the database passphrase")
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)
    change = actions.add_parser(
        "change",
        help="set a new passphrase (old: KITH_PASSPHRASE or prompt; "
        "new: KITH_NEW_PASSPHRASE or prompt)",
    )
    change.add_argument(
        "--allow-weak",
        action="store_true",
        help="accept a new passphrase that is easy to guess (refused otherwise)",
    )
    change.set_defaults(handler=run_change)


def run_change(args: argparse.Namespace, ctx: CliContext) -> int:
    """Rewrap the key; the database itself is not re-encrypted."""
    from kith.account import change_passphrase
    from kith.passphrase_strength import StrengthChecked
    from kith.passphrases import ENV_NEW_PASSPHRASE, EnvOrPrompt, PassphraseSource

    new: PassphraseSource = EnvOrPrompt(ENV_NEW_PASSPHRASE)
    if not args.allow_weak:
        new = StrengthChecked(new, user_inputs=("kith",))
    change_passphrase(ctx.data_dir, ctx.passphrases(), new)
    print("Passphrase changed")
    return 0
