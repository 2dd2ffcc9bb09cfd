"""``kith search TEXT [--limit N] [--json]``: find messages across every conversation."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.backend import Backend
    from kith.conversation_store import ChatMessage

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``search`` command."""
    parser = commands.add_parser(
        "search", help="find messages containing every word of TEXT (newest first)"
    )
    parser.add_argument("text", help="words to find; the last may be the start of a word")
    parser.add_argument("--limit", type=_limit, default=50, help="at most N results (1 to 200)")
    parser.add_argument("--json", action="store_true", help="print machine-readable output")
    parser.set_defaults(handler=run)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 200")
    return int(text)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Print the matching messages."""

    def read(backend: Backend) -> tuple[list[ChatMessage], dict[str, str], str]:
        found = backend.search(args.text, args.limit)
        names = {c.kith_id: c.display_name for c in backend.contacts()}
        return found, names, backend.identity().kith_id

    found, names, own_id = ctx.with_backend(read)
    if args.json:
        from kith.cli.output import print_json

        print_json([{"contact": m.contact, "message": m.to_json()} for m in found])
        return 0
    from kith.cli.output import print_line

    if not found:
        print_line("No messages found")
    for m in found:
        print_line(_line(m, names.get(m.contact, m.contact[:12]), m.sender == own_id))
    return 0


def _line(message: ChatMessage, contact: str, mine: bool) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(message.sent_at))
    who = f"you → {contact}" if mine else contact
    return f"[{when}] {who}: {message.text}  ({message.id})"
