"""``kith send``, ``kith messages``, ``kith edit``, ``kith delete``, ``kith react``.

CONTACT is a Kith ID or a contact's name, or a group's name or ID
(:mod:`kith.cli.groups`; a name that is both is an error asking which).
Through a running node a message goes out at once when the contact is
online; otherwise (or with no node running) it is queued and sent when
possible; either way ``kith send`` exits 0.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.backend import Backend
    from kith.conversation_store import ChatMessage
    from kith.models import Contact

__all__ = ["register", "resolve_contact"]

DEFAULT_LIMIT = 50


def register(commands: Any) -> None:
    """Add the messaging commands."""
    send = commands.add_parser("send", help="send a message or a file to a contact")
    send.add_argument("contact", help="the contact's Kith ID or name")
    send.add_argument("text", nargs="?", help="the message (with --file: its caption)")
    send.add_argument("--file", metavar="PATH", help="send this file (through the running node)")
    send.add_argument("--text", dest="caption", metavar="CAPTION", help="the file's caption")
    send.add_argument(
        "--reply-to", metavar="MSGID", help="reply to this message of the conversation"
    )
    send.add_argument("--json", action="store_true", help="print the message as JSON")
    send.set_defaults(handler=run_send)

    history = commands.add_parser("messages", help="show the messages with a contact")
    history.add_argument("contact", help="the contact's Kith ID or name")
    history.add_argument("--limit", type=_limit, default=DEFAULT_LIMIT, help="at most N (50)")
    history.add_argument("--before", metavar="ID", help="only messages older than this one")
    history.add_argument("--json", action="store_true", help="print machine-readable output")
    history.set_defaults(handler=run_messages)

    edit = commands.add_parser("edit", help="edit one of your messages")
    edit.add_argument("id", help="the message ID")
    edit.add_argument("text", help="the new text")
    edit.set_defaults(handler=run_edit)

    delete = commands.add_parser("delete", help="delete one of your messages for both sides")
    delete.add_argument("id", help="the message ID")
    delete.set_defaults(handler=run_delete)

    react = commands.add_parser("react", help="react to a message with an emoji")
    react.add_argument("id", help="the message ID")
    react.add_argument("emoji")
    react.add_argument("--remove", action="store_true", help="remove your reaction instead")
    react.set_defaults(handler=run_react)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 1000")
    return int(text)


def resolve_contact(backend: Backend, text: str) -> Contact:
    """The contact named by an ID or a (case-insensitive) name.

    Raises:
        KithError: ``unknown_contact`` or ``ambiguous_contact``.
    """
    from kith.contacts import canonical_id
    from kith.errors import ContactError, KithError

    contacts = backend.contacts()
    try:
        kith_id, _ = canonical_id(text)
    except ContactError:
        wanted = text.strip().casefold()
        named = [c for c in contacts if (c.name or "").casefold() == wanted]
        if len(named) == 1:
            return named[0]
        if named:
            raise KithError(
                f"several contacts are named {text!r}: use the ID", code="ambiguous_contact"
            ) from None
        raise KithError(f"no contact has the ID or name {text!r}", code="unknown_contact") from None
    for contact in contacts:
        if contact.kith_id == kith_id:
            return contact
    raise KithError(f"{kith_id} is not one of your contacts", code="unknown_contact")


def run_send(args: argparse.Namespace, ctx: CliContext) -> int:
    """Send (or queue) a message, or a file with ``--file``."""
    if args.file is not None:
        from kith.cli.files import run_send_file

        return run_send_file(args, ctx, args.file, args.caption or args.text or "")
    if args.text is None or args.caption is not None:
        import sys

        print("kith send: error: give the message text (--text is for --file)", file=sys.stderr)
        return 2
    from kith.cli.groups import group_named, run_group_send

    gid = group_named(ctx, args.contact)
    if gid is not None:
        return run_group_send(gid, args.text, ctx, args.json)

    def send(backend: Backend) -> tuple[Contact, ChatMessage, bool]:
        contact = resolve_contact(backend, args.contact)
        message = backend.send_message(contact.kith_id, args.text, args.reply_to)
        return contact, message, backend.status().status == "invisible"

    contact, message, invisible = ctx.with_backend(send)
    if args.json:
        from kith.cli.output import print_json

        print_json(message.to_json())
        return 0
    from kith.cli.output import print_line

    name = contact.display_name
    if message.state == "queued":
        print_line(f"Queued for {name}: it goes out when they are online ({message.id})")
    else:
        print_line(f"Sent to {name} ({message.id})")
    if invisible:
        print_line(f"You are invisible: delivering it shows {name} that you are online.")
    return 0


def run_messages(args: argparse.Namespace, ctx: CliContext) -> int:
    """Show the history with a contact (or a group)."""
    from kith.cli.groups import group_named, run_group_messages

    gid = group_named(ctx, args.contact)
    if gid is not None:
        return run_group_messages(gid, ctx, args.limit, args.json)

    def read(backend: Backend) -> tuple[Contact, list[ChatMessage], str]:
        contact = resolve_contact(backend, args.contact)
        messages = backend.messages(contact.kith_id, args.limit, args.before)
        return contact, messages, backend.identity().kith_id

    contact, messages, own_id = ctx.with_backend(read)
    if args.json:
        from kith.api.client import find_node
        from kith.cli.files import with_files
        from kith.cli.output import print_json

        listed = [m.to_json() for m in messages]
        node = find_node(ctx.data_dir.path)  # files are listed by the running node
        if node is not None:
            try:
                with_files(node, contact.kith_id, listed)
            finally:
                node.close()
        print_json(listed)
        return 0
    from kith.cli.output import print_line

    if not messages:
        print_line(f"No messages with {contact.display_name} yet")
    for m in messages:
        print_line(_line(m, "you" if m.sender == own_id else contact.display_name))
    return 0


def _line(message: ChatMessage, who: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(message.sent_at))
    text = "(deleted)" if message.deleted else message.text
    extra = [message.state] + (["edited"] if message.edited else [])
    extra += [f"{emoji}×{len(ids)}" for emoji, ids in message.reactions.items()]
    extra += [f"reply to {message.reply_to}"] if message.reply_to else []
    return f"[{when}] {who}: {text}  ({', '.join(extra)}; {message.id})"


def run_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    """Edit one of your messages."""
    ctx.with_backend(lambda b: b.edit_message(args.id, args.text))
    print("Message edited")
    return 0


def run_delete(args: argparse.Namespace, ctx: CliContext) -> int:
    """Delete one of your messages."""
    ctx.with_backend(lambda b: b.delete_message(args.id))
    print("Message deleted")
    return 0


def run_react(args: argparse.Namespace, ctx: CliContext) -> int:
    """Add or remove a reaction."""
    ctx.with_backend(lambda b: b.react(args.id, args.emoji, not args.remove))
    print("Reaction removed" if args.remove else "Reaction added")
    return 0
