"""``kith groups``: create, list, show and change private groups (docs/groups.md).

GROUP is a group's name or ID. Groups need the running node (``kith run``):
their changes and messages go out over its sessions with the members.
``kith send GROUP TEXT`` and ``kith messages GROUP`` work for groups too
(:func:`group_named`); a name that is both a contact's and a group's is an error.
``kith groups edit|delete|react GROUP MESSAGE ...`` act on a group message (an edit
or delete on one's own only), ``kith groups read GROUP`` marks its messages read.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from pathlib import Path

    from kith.api.client import NodeBackend

__all__ = [
    "group_named",
    "register",
    "run_group_messages",
    "run_group_send",
    "run_group_send_file",
]


def register(commands: Any) -> None:
    """Add ``kith groups`` and its subcommands."""
    groups = commands.add_parser("groups", help="private groups of contacts")
    sub = groups.add_subparsers(dest="groups_command", metavar="SUBCOMMAND", required=True)

    create = sub.add_parser("create", help="create a group (you are its admin)")
    create.add_argument("name")
    create.add_argument(
        "--member", action="append", default=[], metavar="CONTACT", help="a contact to add"
    )
    create.add_argument("--json", action="store_true", help="print the group as JSON")
    create.set_defaults(handler=run_create)

    listing = sub.add_parser("list", help="list your groups")
    listing.add_argument("--json", action="store_true", help="print machine-readable output")
    listing.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="show a group's members and roles")
    show.add_argument("group", help="the group's name or ID")
    show.add_argument("--json", action="store_true", help="print machine-readable output")
    show.set_defaults(handler=run_show)

    add = sub.add_parser("add", help="add a contact to a group (admins)")
    add.add_argument("group")
    add.add_argument("contact")
    add.set_defaults(handler=run_add)

    remove = sub.add_parser("remove", help="remove a member from a group (admins)")
    remove.add_argument("group")
    remove.add_argument("member", help="the member's Kith ID or contact name")
    remove.set_defaults(handler=run_remove)

    leave = sub.add_parser("leave", help="leave a group")
    leave.add_argument("group")
    leave.set_defaults(handler=run_leave)

    rename = sub.add_parser("rename", help="rename a group (admins)")
    rename.add_argument("group")
    rename.add_argument("name")
    rename.set_defaults(handler=run_rename)

    edit = sub.add_parser("edit", help="edit one of your group messages")
    edit.add_argument("group")
    edit.add_argument("id", help="the message ID")
    edit.add_argument("text")
    edit.set_defaults(handler=run_edit)

    delete = sub.add_parser("delete", help="delete one of your group messages")
    delete.add_argument("group")
    delete.add_argument("id", help="the message ID")
    delete.set_defaults(handler=run_delete)

    react = sub.add_parser("react", help="add or remove a reaction on a group message")
    react.add_argument("group")
    react.add_argument("id", help="the message ID")
    react.add_argument("emoji")
    react.add_argument("--remove", action="store_true", help="remove the reaction")
    react.set_defaults(handler=run_react)

    read = sub.add_parser("read", help="mark a group's messages read (receipts if on)")
    read.add_argument("group")
    read.set_defaults(handler=run_read)


def _node(ctx: CliContext) -> NodeBackend:
    from kith.api.client import find_node
    from kith.errors import KithError

    node = find_node(ctx.data_dir.path)
    if node is None:
        raise KithError(
            "groups need the running node: start it with `kith run`", code="node_not_running"
        )
    return node


def _with_node(ctx: CliContext, action: Any) -> Any:
    node = _node(ctx)
    try:
        return action(node)
    finally:
        node.close()


def _path(group: str) -> str:
    return f"/api/groups/{quote(group, safe='')}"


def _member_id(node: NodeBackend, text: str) -> str:
    from kith.cli.messages import resolve_contact

    return resolve_contact(node, text).kith_id


def _print_group(group: dict[str, Any], as_json: bool) -> None:
    from kith.cli.output import print_json, print_line, print_table

    if as_json:
        print_json(group)
        return
    state = "" if group["active"] else " (you are no longer a member)"
    print_line(f"{group['name']}  ({group['id']}, version {group['version']}){state}")
    rows = [
        [
            "you" if m.get("you") else m.get("name", "(not a contact)"),
            m["role"],
            "" if "verified" not in m else ("verified" if m["verified"] else "not verified"),
            m.get("status", ""),
            m["id"],
        ]
        for m in group["members"]
    ]
    print_table(["MEMBER", "ROLE", "SAFETY", "PRESENCE", "ID"], rows)


def run_create(args: argparse.Namespace, ctx: CliContext) -> int:
    def create(node: NodeBackend) -> Any:
        members = [_member_id(node, m) for m in args.member]
        return node.request("POST", "/api/groups", {"name": args.name, "members": members})

    _print_group(_with_node(ctx, create), args.json)
    return 0


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from kith.cli.output import print_json, print_line, print_table

    groups = _with_node(ctx, lambda n: n.request("GET", "/api/groups"))["groups"]
    if args.json:
        print_json(groups)
        return 0
    if not groups:
        print_line("No groups yet")
        return 0
    rows = [
        [g["name"], str(len(g["members"])), "yes" if g["active"] else "no", g["id"]] for g in groups
    ]
    print_table(["NAME", "MEMBERS", "MEMBER", "ID"], rows)
    return 0


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    _print_group(_with_node(ctx, lambda n: n.request("GET", _path(args.group))), args.json)
    return 0


def _change(ctx: CliContext, method: str, path: str, body: Any, done: str) -> int:
    from kith.cli.output import print_line

    _with_node(ctx, lambda n: n.request(method, path, body(n)))
    print_line(done)
    return 0


def run_add(args: argparse.Namespace, ctx: CliContext) -> int:
    return _change(
        ctx, "POST", _path(args.group) + "/members",
        lambda n: {"member": _member_id(n, args.contact)}, "Member added",
    )  # fmt: skip


def run_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    def remove(node: NodeBackend) -> Any:
        member = _member_id_or_raw(node, args.member)
        return node.request("DELETE", f"{_path(args.group)}/members/{member}")

    from kith.cli.output import print_line

    _with_node(ctx, remove)
    print_line("Member removed: the others start new keys")
    return 0


def _member_id_or_raw(node: NodeBackend, text: str) -> str:
    """A member named by contact name or ID; a member who is not a contact by ID."""
    from kith.errors import KithError

    try:
        return _member_id(node, text)
    except KithError:
        return text.strip()


def run_leave(args: argparse.Namespace, ctx: CliContext) -> int:
    return _change(ctx, "POST", _path(args.group) + "/leave", lambda n: None, "You left the group")


def run_rename(args: argparse.Namespace, ctx: CliContext) -> int:
    return _change(
        ctx, "POST", _path(args.group) + "/rename", lambda n: {"name": args.name}, "Group renamed"
    )


def _message_path(group: str, message_id: str) -> str:
    return f"{_path(group)}/messages/{quote(message_id, safe='')}"


def run_edit(args: argparse.Namespace, ctx: CliContext) -> int:
    path = _message_path(args.group, args.id)
    return _change(ctx, "PATCH", path, lambda n: {"text": args.text}, "Message edited")


def run_delete(args: argparse.Namespace, ctx: CliContext) -> int:
    path = _message_path(args.group, args.id)
    return _change(ctx, "DELETE", path, lambda n: None, "Message deleted")


def run_react(args: argparse.Namespace, ctx: CliContext) -> int:
    path = _message_path(args.group, args.id) + "/reactions"
    if args.remove:
        path += "/" + quote(args.emoji, safe="")
        return _change(ctx, "DELETE", path, lambda n: None, "Reaction removed")
    return _change(ctx, "POST", path, lambda n: {"emoji": args.emoji}, "Reaction added")


def run_read(args: argparse.Namespace, ctx: CliContext) -> int:
    from kith.cli.output import print_line

    def read(node: NodeBackend) -> Any:
        got = node.request("GET", _path(args.group) + "/messages")["messages"]
        ids = [m["id"] for m in got]
        return node.request("POST", _path(args.group) + "/read", {"ids": ids})["read"]

    print_line(f"Marked {len(_with_node(ctx, read))} messages read")
    return 0


def group_named(ctx: CliContext, text: str) -> str | None:
    """The ID of the group ``text`` names, or None when it names no group (or no node
    runs). ``ambiguous_target`` when ``text`` also names a contact."""
    from kith.api.client import find_node
    from kith.cli.messages import resolve_contact
    from kith.errors import KithError

    node = find_node(ctx.data_dir.path)
    if node is None:
        return None
    try:
        try:
            group = node.request("GET", _path(text))
        except KithError as exc:
            if exc.code == "unknown_group":
                return None
            raise
        try:
            resolve_contact(node, text)
        except KithError:
            return str(group["id"])
        raise KithError(
            f"{text!r} names both a contact and a group: use the contact's ID or the group's ID"
            f" ({group['id']})",
            code="ambiguous_target",
        )
    finally:
        node.close()


def run_group_send(gid: str, text: str, ctx: CliContext, as_json: bool) -> int:
    from kith.cli.output import print_json, print_line

    sent = _with_node(
        ctx, lambda n: n.request("POST", f"/api/groups/{gid}/messages", {"text": text})
    )
    if as_json:
        print_json(sent["message"])
    else:
        print_line(f"Sent to the group ({sent['message']['id']})")
    return 0


def run_group_send_file(gid: str, path: Path, caption: str, ctx: CliContext, as_json: bool) -> int:
    """Send a file to every other member (through the running node)."""
    from kith.cli.files import size_text
    from kith.cli.output import print_json, print_line

    body = {"path": str(path), "caption": caption}
    sent = _with_node(ctx, lambda n: n.request("POST", f"/api/groups/{gid}/files", body))
    if as_json:
        print_json(sent)
        return 0
    file = sent["file"]
    print_line(
        f"Sending {file['name']} ({size_text(file['size'])}) to the group: each member gets "
        f"it when they are online ({sent['message']['id']})"
    )
    return 0


def run_group_messages(gid: str, ctx: CliContext, limit: int, as_json: bool) -> int:
    import time

    from kith.cli.output import print_json, print_line

    def read(node: NodeBackend) -> tuple[list[dict[str, Any]], str]:
        got = node.request("GET", f"/api/groups/{gid}/messages")["messages"]
        return got[-limit:], node.identity().kith_id

    messages, own_id = _with_node(ctx, read)
    if as_json:
        print_json(messages)
        return 0
    if not messages:
        print_line("No messages in this group yet")
    for m in messages:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(m["sent_at"] / 1000))
        who = "you" if m["sender"] == own_id else m["sender"][:12]
        print_line(f"[{when}] {who}: {_shown(m)}")
    return 0


def _shown(message: dict[str, Any]) -> str:
    """A message's line after its sender: text, then edited, reactions, receipts, ID."""
    text = "(deleted)" if message["deleted"] else message["body"]
    extra = ["edited"] if message["edited"] else []
    file = message.get("file")
    if file is not None:
        from kith.cli.files import size_text

        extra.append(f"file {file['name']}, {size_text(file['size'])}, {file['state']}")
    extra += [f"{emoji}×{len(ids)}" for emoji, ids in message["reactions"].items()]
    receipts = message.get("receipts")
    if receipts is not None and receipts["of"]:
        extra.append(f"delivered to {receipts['delivered']} of {receipts['of']}")
        extra.append(f"read by {receipts['read']} of {receipts['of']}")
    return f"{text}  ({'; '.join([*extra, message['id']])})"
