"""``kith contacts requests|accept|decline|block|unblock``: answer contact requests."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.models import Contact

__all__ = ["register_requests"]


def register_requests(actions: Any) -> None:
    """Add the request commands to ``kith contacts``."""
    requests = actions.add_parser(
        "requests", help="list the contact requests waiting, with safety numbers"
    )
    requests.add_argument("--json", action="store_true", help="print machine-readable output")
    requests.set_defaults(handler=run_requests)

    accept = actions.add_parser("accept", help="accept a contact request: they become a contact")
    accept.add_argument("id", help="the sender's Kith ID")
    accept.set_defaults(handler=run_accept)

    decline = actions.add_parser("decline", help="decline a contact request (they are not told)")
    decline.add_argument("id", help="the sender's Kith ID")
    decline.set_defaults(handler=run_decline)

    block = actions.add_parser(
        "block", help="block an ID: its requests are dropped unseen and a contact is removed"
    )
    block.add_argument("id", help="the Kith ID to block")
    block.set_defaults(handler=run_block)

    unblock = actions.add_parser("unblock", help="unblock an ID: its requests arrive again")
    unblock.add_argument("id", help="the Kith ID to unblock")
    unblock.set_defaults(handler=run_unblock)


def run_requests(args: argparse.Namespace, ctx: CliContext) -> int:
    """List the requests waiting."""
    from kith.cli.output import print_json, print_table
    from kith.safety import format_digits

    waiting: list[dict[str, Any]] = ctx.with_backend(lambda b: b.requests())
    if args.json:
        print_json(waiting)
        return 0
    if not waiting:
        print("No contact requests waiting")
        return 0
    rows = [
        [
            r["name"] or "-",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r["received_at"])),
            format_digits(r["safety_number"]),
            r["id"],
        ]
        for r in waiting
    ]
    print_table(["NAME", "RECEIVED", "SAFETY NUMBER", "ID"], rows)
    print("Answer with `kith contacts accept ID`, `decline ID` or `block ID`.")
    return 0


def run_accept(args: argparse.Namespace, ctx: CliContext) -> int:
    """Accept a request."""
    from kith.cli.output import print_line

    contact: Contact = ctx.with_backend(lambda b: b.accept_request(args.id))
    print_line(f"Accepted: {contact.display_name} ({contact.kith_id}) is now a contact")
    return 0


def run_decline(args: argparse.Namespace, ctx: CliContext) -> int:
    """Decline a request."""
    ctx.with_backend(lambda b: b.decline_request(args.id))
    print("Request declined")
    return 0


def run_block(args: argparse.Namespace, ctx: CliContext) -> int:
    """Block an ID."""
    ctx.with_backend(lambda b: b.block(args.id))
    print("Blocked: requests from this ID are dropped unseen")
    return 0


def run_unblock(args: argparse.Namespace, ctx: CliContext) -> int:
    """Unblock an ID."""
    ctx.with_backend(lambda b: b.unblock(args.id))
    print("Unblocked: requests from this ID arrive again")
    return 0
