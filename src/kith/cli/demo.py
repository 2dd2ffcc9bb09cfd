"""``kith demo``: two identities, alice and bob, made contacts of each other.

This is the foundation form of the demo; later capabilities replace it with
two running nodes talking through a signaling server.
"""

from __future__ import annotations

import argparse
from typing import Any

from kith.cli.context import CliContext

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``demo`` command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo", help="create alice and bob in a temporary folder and introduce them"
    )
    parser.set_defaults(handler=run)


def _make_user(root: Any, name: str) -> Any:
    from kith.account import create_account, open_store
    from kith.datadir import DataDir
    from kith.direct import DirectBackend
    from kith.keyprotect import Protection
    from kith.passphrases import FixedPassphrase

    data_dir = DataDir(root / name)
    secret = FixedPassphrase(f"{name}-demo-passphrase")
    create_account(data_dir, name=name, protection=Protection.PASSPHRASE, passphrases=secret)
    return DirectBackend(open_store(data_dir, secret))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Create alice and bob, add each other, print IDs and the safety number."""
    import tempfile
    from pathlib import Path

    from kith.safety import format_digits

    with tempfile.TemporaryDirectory(prefix="kith-demo-") as tmp:
        alice, bob = _make_user(Path(tmp), "alice"), _make_user(Path(tmp), "bob")
        try:
            a_id, b_id = alice.identity().kith_id, bob.identity().kith_id
            alice.add_contact(b_id, "bob")
            bob.add_contact(a_id, "alice")
            seen_by_alice = alice.contact(b_id).safety_number
            seen_by_bob = bob.contact(a_id).safety_number
        finally:
            alice.close()
            bob.close()
    print(f"alice  {a_id}")
    print(f"bob    {b_id}")
    print("alice and bob are now contacts of each other.")
    print(f"Safety number (alice's view): {format_digits(seen_by_alice)}")
    print(f"Safety number (bob's view):   {format_digits(seen_by_bob)}")
    print("They match." if seen_by_alice == seen_by_bob else "They DO NOT match!")
    return 0
