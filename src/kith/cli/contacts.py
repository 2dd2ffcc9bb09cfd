"""``kith contacts``: add, remove, rename, verify, list, show, import and export contacts
(and answer contact requests: :mod:`kith.cli.contact_requests`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kith.cli.context import CliContext

if TYPE_CHECKING:
    from kith.backend import ImportResult
    from kith.models import Contact

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add the ``contacts`` command and its actions."""
    command = commands.add_parser("contacts", help="manage your contacts")
    actions = command.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a contact by their Kith ID")
    add.add_argument("id", help="the contact's Kith ID")
    add.add_argument("--name", help="a nickname for the contact")
    add.set_defaults(handler=run_add)

    remove = actions.add_parser("remove", help="remove a contact")
    remove.add_argument("id")
    remove.set_defaults(handler=run_remove)

    rename = actions.add_parser("rename", help="change a contact's nickname")
    rename.add_argument("id")
    rename.add_argument("name", help='the new nickname ("" to clear it)')
    rename.set_defaults(handler=run_rename)

    verify = actions.add_parser("verify", help="mark a contact verified after comparing numbers")
    verify.add_argument("id")
    verify.add_argument("--undo", action="store_true", help="mark the contact unverified")
    verify.set_defaults(handler=run_verify)

    list_ = actions.add_parser("list", help="list contacts with their presence")
    list_.add_argument("--json", action="store_true", help="print machine-readable output")
    list_.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="show a contact and the safety number")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print machine-readable output")
    show.set_defaults(handler=run_show)

    import_ = actions.add_parser(
        "import", help="add every contact in a list (all or nothing; known ones are skipped)"
    )
    import_.add_argument("file", metavar="FILE", help='one "ID [name]" per line; - for stdin')
    import_.add_argument(
        "--json", action="store_true", help='read a JSON array of {"id", "name"}; print JSON'
    )
    import_.set_defaults(handler=run_import)

    export = actions.add_parser("export", help="write every contact's ID and name")
    export.add_argument(
        "file", metavar="FILE", nargs="?", default="-", help="a new file (default: - for stdout)"
    )
    export.add_argument("--json", action="store_true", help='write a JSON array of {"id", "name"}')
    export.set_defaults(handler=run_export)

    from kith.cli.contact_requests import register_requests

    register_requests(actions)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def run_add(args: argparse.Namespace, ctx: CliContext) -> int:
    """Add a contact."""
    from kith.cli.output import print_line

    contact: Contact = ctx.with_backend(lambda b: b.add_contact(args.id, args.name))
    print_line(f"Added {contact.display_name} ({contact.kith_id})")
    print("They get a contact request; their presence shows once they accept it")
    print(f"Compare safety numbers with `kith contacts show {contact.kith_id}`")
    return 0


def run_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    """Remove a contact."""
    ctx.with_backend(lambda b: b.remove_contact(args.id))
    print("Contact removed")
    return 0


def run_rename(args: argparse.Namespace, ctx: CliContext) -> int:
    """Rename a contact."""
    from kith.cli.output import print_line

    name = args.name if args.name.strip() else None
    contact: Contact = ctx.with_backend(lambda b: b.rename_contact(args.id, name))
    print_line(f"Renamed to {contact.display_name}")
    return 0


def run_verify(args: argparse.Namespace, ctx: CliContext) -> int:
    """Mark a contact verified (or not)."""
    from kith.cli.output import print_line

    contact: Contact = ctx.with_backend(lambda b: b.verify_contact(args.id, not args.undo))
    state = "verified" if contact.verified else "not verified"
    print_line(f"{contact.display_name} is now {state}")
    return 0


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    """List contacts."""
    from kith.cli.output import print_json, print_table

    contacts: list[Contact] = ctx.with_backend(lambda b: b.contacts())
    if args.json:
        print_json([c.to_json() for c in contacts])
        return 0
    if not contacts:
        print("No contacts yet: add one with `kith contacts add ID`")
        return 0
    rows = [
        [
            c.name or c.own_name or "-",
            c.status,
            "yes" if c.verified else "no",
            _when(c.last_seen),
            c.kith_id,
        ]
        for c in contacts
    ]
    print_table(["NAME", "STATUS", "VERIFIED", "LAST SEEN", "ID"], rows)
    return 0


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    """Show one contact with the safety number."""
    from kith.cli.output import print_json, print_pairs
    from kith.safety import format_digits

    details = ctx.with_backend(lambda b: b.contact(args.id))
    if args.json:
        print_json(details.to_json())
        return 0
    c = details.contact
    print_pairs(
        [
            ("Name", c.name or "(none)"),
            ("Kith ID", c.kith_id),
            ("Status", c.status + (f" — {c.status_text}" if c.status_text else "")),
            ("Last seen", _when(c.last_seen)),
            ("Verified", "yes" if c.verified else "no"),
            ("Safety number", format_digits(details.safety_number)),
        ]
    )
    if not c.verified:
        print("Compare the safety number with your contact, then run `kith contacts verify ID`.")
    return 0


def _read_list(name: str) -> bytes:
    """The bytes of FILE (``-``: stdin), one byte past the size limit at most."""
    from kith.contact_list import MAX_LIST_BYTES
    from kith.errors import KithError

    try:
        if name == "-":
            return sys.stdin.buffer.read(MAX_LIST_BYTES + 1)
        with open(name, "rb") as source:
            return source.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise KithError(f"cannot read {name}: {reason}", code="unreadable_file") from None


def _write_new(path: Path, data: bytes) -> None:
    """Write a new owner-only file; never replace one."""
    from kith.errors import KithError
    from kith.private_files import write_private

    if path.exists() or path.is_symlink():
        raise KithError(f"{path} already exists: choose another name", code="file_exists")
    try:
        write_private(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise KithError(f"cannot write {path}: {reason}", code="unwritable_file") from None


def _plural(count: int) -> str:
    return f"{count:,} contact" + ("" if count == 1 else "s")


def run_import(args: argparse.Namespace, ctx: CliContext) -> int:
    """Import a contact list: every entry is checked first, then all are added at once."""
    from kith.contact_list import parse_json, parse_lines

    data = _read_list(args.file)
    entries = parse_json(data) if args.json else parse_lines(data)
    result: ImportResult = ctx.with_backend(lambda b: b.import_contacts(entries))
    if args.json:
        from kith.cli.output import print_json

        print_json(result.to_json())
        return 0
    skipped = f" ({result.skipped:,} already there)" if result.skipped else ""
    print(f"Imported {_plural(len(result.added))}{skipped}")
    return 0


def run_export(args: argparse.Namespace, ctx: CliContext) -> int:
    """Export every contact's ID and nickname (to stdout or a new file)."""
    from kith.contact_list import format_json, format_lines

    contacts: list[Contact] = ctx.with_backend(lambda b: b.contacts())
    data = (format_json(contacts) if args.json else format_lines(contacts)).encode("utf-8")
    if args.file == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    _write_new(Path(args.file), data)
    if args.json:
        from kith.cli.output import print_json

        print_json({"exported": len(contacts), "file": args.file})
    else:
        print(f"Exported {_plural(len(contacts))} to {args.file}")
    return 0
