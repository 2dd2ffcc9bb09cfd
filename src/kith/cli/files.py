"""``kith files`` (list, cancel, save) and the file half of ``kith send --file``.

Files move through the running node (``kith run``): it holds the encrypted
vault and the connections. ``kith send CONTACT --file PATH`` copies the file
into the vault and queues it, and exits 0 while the contact is offline,
like a message; a missing or unreadable path, or a directory, is an error
and queues nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.api.client import NodeBackend

__all__ = ["register", "run_send_file", "with_files"]

_ACTIONS = ("cancel", "save")


def register(commands: Any) -> None:
    """Add ``kith files``."""
    files = commands.add_parser(
        "files",
        help="list file transfers with a contact, or cancel or save one",
        description=(
            "kith files CONTACT [--json]: the transfers with a contact; "
            "kith files cancel ID: cancel one; kith files save ID DEST: write a received "
            "file to the new file DEST"
        ),
    )
    files.add_argument("words", nargs="+", metavar="CONTACT | cancel ID | save ID DEST")
    files.add_argument("--json", action="store_true", help="print machine-readable output")
    files.set_defaults(handler=run_files)


def _node(ctx: CliContext) -> NodeBackend:
    from kith.api.client import find_node
    from kith.errors import KithError

    node = find_node(ctx.data_dir.path)
    if node is None:
        raise KithError(
            "files move through the running node: start it with `kith run`",
            code="node_not_running",
        )
    return node


def run_send_file(args: argparse.Namespace, ctx: CliContext, path: str, caption: str) -> int:
    """Queue a file (``kith send CONTACT --file PATH [--text CAPTION]``)."""
    from kith.cli.messages import resolve_contact
    from kith.cli.output import print_json, print_line
    from kith.files import InvalidFile

    source = Path(path).expanduser()
    if source.is_dir():
        raise InvalidFile(f"{path} is a directory, not a file", code="is_directory")
    if not source.exists():
        raise InvalidFile(f"no such file: {path}", code="file_not_found")
    node = _node(ctx)
    try:
        contact = resolve_contact(node, args.contact)
        reply = node.send_file(contact.kith_id, source.resolve(), caption)
    finally:
        node.close()
    if args.json:
        print_json(reply)
        return 0
    file = reply["file"]
    name = contact.display_name
    if reply["message"]["state"] == "queued":
        print_line(
            f"Queued {file['name']} ({_size(file['size'])}) for {name}: it goes out when "
            f"they are online ({file['id']})"
        )
    else:
        print_line(f"Sending {file['name']} ({_size(file['size'])}) to {name} ({file['id']})")
    return 0


def run_files(args: argparse.Namespace, ctx: CliContext) -> int:
    """List, cancel or save."""
    from kith.cli.output import print_json, print_line

    words: list[str] = args.words
    action = words[0] if words[0] in _ACTIONS and len(words) > 1 else None
    wanted = {"cancel": 2, "save": 3}.get(action or "", 1)
    if len(words) != wanted:
        import sys

        print(f"{_usage()}\nkith files: error: wrong number of words", file=sys.stderr)
        return 2
    node = _node(ctx)
    try:
        if action == "cancel":
            file = node.cancel_file(words[1])
            result: Any = file
            text = f"{file['name']}: {file['state']}"
        elif action == "save":
            dest = Path(words[2]).expanduser().resolve()
            file = node.save_file(words[1], dest)
            result = {**file, "saved_to": str(dest)}
            text = f"Saved {file['name']} to {dest}"
        else:
            from kith.cli.messages import resolve_contact

            contact = resolve_contact(node, words[0])
            result = node.files(contact.kith_id)
            text = ""
    finally:
        node.close()
    if args.json:
        print_json(result)
        return 0
    if action is not None:
        print_line(text)
        return 0
    if not result:
        print_line(f"No file transfers with {contact.display_name} yet")
    for file in result:
        print_line(_line(file))
    return 0


def _usage() -> str:
    return "usage: kith files CONTACT [--json] | kith files cancel ID | kith files save ID DEST"


def _line(file: dict[str, Any]) -> str:
    arrow = "→" if file["direction"] == "out" else "←"
    size = file["size"]
    done = 100 if size == 0 else file["bytes_done"] * 100 // size
    state = file["state"] if file["reason"] in (None, "cancelled") else file["reason"]
    return (
        f"{arrow} {file['name']}  {_size(size)}  {state} {done}%  "
        f"sha256 {file['sha256'][:16]}…  ({file['id']})"
    )


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def with_files(node: NodeBackend, contact_id: str, messages: list[dict[str, Any]]) -> None:
    """Add ``file: {id, name, size, sha256, state, bytes_done}`` to the messages that carry one."""
    by_id = {f["id"]: f for f in node.files(contact_id)}
    keys = ("id", "name", "size", "sha256", "state", "bytes_done")
    for message in messages:
        file = by_id.get(message["id"])
        if file is not None:
            message["file"] = {k: file[k] for k in keys}
