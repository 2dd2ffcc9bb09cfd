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

__all__ = ["progress_bar", "register", "run_send_file", "size_text", "with_files"]

_ACTIONS = ("cancel", "pause", "resume", "save")


def register(commands: Any) -> None:
    """Add ``kith files``."""
    files = commands.add_parser(
        "files",
        help="list file transfers with a contact, or cancel or save one",
        description=(
            "kith files CONTACT [--json]: the transfers with a contact; "
            "kith files cancel|pause|resume ID: cancel, hold or go on with one; "
            "kith files save ID DEST: write a received file to the new file DEST"
        ),
    )
    files.add_argument(
        "words", nargs="+", metavar="CONTACT | cancel|pause|resume ID | save ID DEST"
    )
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
    from kith.cli.groups import group_named, run_group_send_file

    gid = group_named(ctx, args.contact)
    if gid is not None:
        return run_group_send_file(gid, source.resolve(), caption, ctx, args.json)
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
    if contact.status == "offline":
        print_line(
            f"Queued {file['name']} ({size_text(file['size'])}) for {name}: it goes out when "
            f"they are online ({file['id']})"
        )
        return 0
    print_line(f"Sending {file['name']} ({size_text(file['size'])}) to {name} ({file['id']})")
    import sys

    if sys.stdout.isatty():
        return _follow(ctx, file["id"])
    return 0


_FINAL = ("received", "failed", "cancelled")
STALL_SECONDS = 60.0
"""Stop watching (not sending) a transfer that has not moved for this long."""


def _follow(ctx: CliContext, file_id: str) -> int:
    """Draw a progress bar until the transfer ends (Ctrl-C stops watching, not sending)."""
    import sys
    import time

    node = _node(ctx)
    file: dict[str, Any] = {}
    seen: tuple[str, int] | None = None
    moved = time.monotonic()
    try:
        while not file or file["state"] not in _FINAL:
            file = node.file(file_id)
            sys.stdout.write("\r" + progress_bar(file["bytes_done"], file["size"], file["state"]))
            sys.stdout.flush()
            now = (file["state"], file["bytes_done"])
            if now != seen:
                seen, moved = now, time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS or file["state"] == "paused":
                print("\nNot moving now: it goes on in the background (see `kith files`)")
                return 0
            time.sleep(0.2)  # a person watching: a redraw five times a second
    except KeyboardInterrupt:
        print("\nStill sending in the background: see `kith files`")
        return 0
    finally:
        node.close()
    print()
    if file["state"] != "received":
        reason = file["reason"] or file["state"]
        raise _failed(f"the transfer ended: {reason}")
    return 0


def _failed(message: str) -> Exception:
    from kith.errors import KithError

    return KithError(message, code="transfer_failed")


def progress_bar(done: int, size: int, state: str, width: int = 30) -> str:
    """``[#####-----]  50%  4.0 MiB of 8.0 MiB  sending`` (fits 80 columns)."""
    fraction = 1.0 if size == 0 else min(done, size) / size
    filled = int(fraction * width)
    bar = "#" * filled + "-" * (width - filled)
    return f"[{bar}] {fraction * 100:3.0f}%  {size_text(done)} of {size_text(size)}  {state:<9}"


def run_files(args: argparse.Namespace, ctx: CliContext) -> int:
    """List, cancel or save."""
    from kith.cli.output import print_json, print_line

    words: list[str] = args.words
    action = words[0] if words[0] in _ACTIONS and len(words) > 1 else None
    wanted = {"cancel": 2, "pause": 2, "resume": 2, "save": 3}.get(action or "", 1)
    if len(words) != wanted:
        import sys

        print(f"{_usage()}\nkith files: error: wrong number of words", file=sys.stderr)
        return 2
    node = _node(ctx)
    try:
        if action in ("cancel", "pause", "resume"):
            if action == "cancel":
                file = node.cancel_file(words[1])
            else:
                file = node.pause_file(words[1], action == "pause")
            result: Any = file
            held = " (held: `kith files resume ID` goes on)" if file["reason"] == "held" else ""
            text = f"{file['name']}: {file['state']}{held}"
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
    return (
        "usage: kith files CONTACT [--json] | kith files cancel|pause|resume ID | "
        "kith files save ID DEST"
    )


def _line(file: dict[str, Any]) -> str:
    arrow = "→" if file["direction"] == "out" else "←"
    size = file["size"]
    done = 100 if size == 0 else file["bytes_done"] * 100 // size
    state = file["state"] if file["reason"] in (None, "cancelled") else file["reason"]
    state = "paused by you" if file["reason"] == "held" else state
    return (
        f"{arrow} {file['name']}  {size_text(size)}  {state} {done}%  "
        f"sha256 {file['sha256'][:16]}…  ({file['id']})"
    )


def size_text(size: int) -> str:
    """A size for people: bytes, KiB, MiB or GiB."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def with_files(node: NodeBackend, contact_id: str, messages: list[dict[str, Any]]) -> None:
    """Add ``file: {id, name, size, sha256, state, bytes_done}`` to the messages that carry one
    (and ``kind: "voice", duration_ms`` to a voice message's)."""
    by_id = {f["id"]: f for f in node.files(contact_id)}
    keys = ("id", "name", "size", "sha256", "state", "bytes_done")
    for message in messages:
        file = by_id.get(message["id"])
        if file is not None:
            message["file"] = {k: file[k] for k in keys}
            if file.get("kind") == "voice":
                message["file"] |= {"kind": "voice", "duration_ms": file["duration_ms"]}
