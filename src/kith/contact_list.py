"""Contact lists: the files of ``kith contacts import`` and ``export`` (pure).

Two formats hold the same thing, each contact's Kith ID and nickname:

- **lines** (the default): one ``ID [name]`` per line. The ID is the first
  word; the name is the rest of the line (optional). Blank lines and lines
  starting with ``#`` are ignored.
- **JSON** (``--json``): an array of objects ``{"id": ..., "name": ...}``
  (``name`` optional or null; other keys are ignored, so the output of
  ``kith contacts list --json`` imports too).

Parsing turns bytes into :class:`ContactEntry` values that remember where
they came from (``line 3``, ``entry 3``); :func:`check_entries` applies the
rules of ``kith contacts add`` to all of them and reports every bad one.
Nothing here reads files or touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kith.contacts import clean_name, new_contact_id
from kith.errors import ContactListError, KithError
from kith.models import Contact

__all__ = [
    "MAX_LIST_BYTES",
    "MAX_LIST_ENTRIES",
    "CheckedEntry",
    "ContactEntry",
    "bad_entries",
    "check_entries",
    "entries_from_json",
    "entries_to_json",
    "format_json",
    "format_lines",
    "parse_json",
    "parse_lines",
]

MAX_LIST_BYTES: Final = 10 * 1024 * 1024
"""The largest contact list accepted (10 MiB)."""

MAX_LIST_ENTRIES: Final = 100_000
"""The most lines (or JSON entries) a contact list may have."""

MAX_PROBLEMS_SHOWN: Final = 1000
"""Bad entries named in an error message; the rest are counted."""

_HEADER: Final = (
    "# Kith contacts: one contact per line, the Kith ID then the name (optional).\n"
    "# Import with `kith contacts import FILE`.\n"
)


@dataclass(frozen=True)
class ContactEntry:
    """One contact as a list gives it, not yet checked.

    Attributes:
        kith_id: The ID as written.
        name: The nickname as written, or None.
        where: Where it came from, for error messages (``"line 3"``).
    """

    kith_id: str
    name: str | None
    where: str


@dataclass(frozen=True)
class CheckedEntry:
    """An entry that passed the rules of ``kith contacts add``."""

    kith_id: str
    public_key: bytes
    name: str | None


def _refuse(message: str) -> ContactListError:
    return ContactListError(f"cannot import the contact list: {message}")


def _decode(data: bytes) -> str:
    if len(data) > MAX_LIST_BYTES:
        raise _refuse(f"it is larger than {MAX_LIST_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(f"it is not UTF-8 text (byte {exc.start + 1})") from None


def _too_many(count: int, what: str) -> ContactListError:
    return _refuse(f"it has {count:,} {what}, at most {MAX_LIST_ENTRIES:,} are allowed")


def parse_lines(data: bytes) -> list[ContactEntry]:
    """Read the lines format.

    Raises:
        ContactListError: Too big, not UTF-8, too many lines, or JSON.
    """
    lines = _decode(data).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_LIST_ENTRIES:
        raise _too_many(len(lines), "lines")
    entries: list[ContactEntry] = []
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if not entries and text[0] in "[{":
            raise _refuse("it looks like JSON: use --json")
        kith_id, *rest = text.split(maxsplit=1)
        entries.append(ContactEntry(kith_id, rest[0] if rest else None, f"line {number}"))
    return entries


def parse_json(data: bytes) -> list[ContactEntry]:
    """Read the JSON format: an array of ``{"id": ..., "name": ...}``.

    Raises:
        ContactListError: Too big, not UTF-8, not JSON, not an array, too
            many entries, or entries of the wrong shape (all of them named).
    """
    text = _decode(data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _refuse(f"it is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise _refuse("it is not valid JSON (nested too deeply)") from None
    return entries_from_json(value)


def _entry(item: Any, where: str, keep_where: bool) -> ContactEntry | str:
    if not isinstance(item, dict):
        return f"{where}: expected an object with an 'id'"
    kith_id, name = item.get("id"), item.get("name")
    if not isinstance(kith_id, str):
        return f"{where}: 'id' must be a string"
    if name is not None and not isinstance(name, str):
        return f"{where}: 'name' must be a string or null"
    label = item.get("where")
    if keep_where and isinstance(label, str) and label:
        where = label
    return ContactEntry(kith_id, (name or "").strip() or None, where)


def entries_from_json(value: Any, *, keep_where: bool = False) -> list[ContactEntry]:
    """Entries from decoded JSON (a file, or the body of the local API's import).

    Args:
        value: The decoded JSON, which must be an array.
        keep_where: Take each entry's ``where`` label when it has one (the
            local API carries the line numbers of the CLI's file this way).

    Raises:
        ContactListError: Not an array, too many entries, or bad entries.
    """
    if not isinstance(value, list):
        raise _refuse('expected a JSON array of {"id": ..., "name": ...} objects')
    if len(value) > MAX_LIST_ENTRIES:
        raise _too_many(len(value), "entries")
    entries, problems = [], []
    for number, item in enumerate(value, 1):
        entry = _entry(item, f"entry {number}", keep_where)
        if isinstance(entry, str):
            problems.append(entry)
        else:
            entries.append(entry)
    if problems:
        raise bad_entries(problems)
    return entries


def entries_to_json(entries: Iterable[ContactEntry]) -> list[dict[str, Any]]:
    """Entries as the local API's import takes them (with their ``where``)."""
    return [{"id": e.kith_id, "name": e.name, "where": e.where} for e in entries]


def bad_entries(problems: Sequence[str]) -> ContactListError:
    """The error naming every bad entry (the first :data:`MAX_PROBLEMS_SHOWN`)."""
    count = len(problems)
    shown = list(problems[:MAX_PROBLEMS_SHOWN])
    if count > len(shown):
        shown.append(f"… and {count - len(shown):,} more")
    lines = all(p.startswith("line ") for p in problems)
    noun = ("line" if lines else "entry") if count == 1 else ("lines" if lines else "entries")
    message = "\n".join([f"nothing imported: {count:,} bad {noun}", *shown])
    return ContactListError(message, problems=tuple(problems))


def _check(entry: ContactEntry, own_id: str) -> CheckedEntry:
    kith_id, public_key = new_contact_id(entry.kith_id, own_id)
    name = None if entry.name is None else clean_name(entry.name, "nickname")
    return CheckedEntry(kith_id, public_key, name)


def check_entries(entries: Sequence[ContactEntry], own_id: str) -> list[CheckedEntry]:
    """Apply the rules of ``kith contacts add`` to every entry.

    Args:
        entries: The parsed list.
        own_id: The user's own Kith ID (refused in a list, as by ``add``).

    Returns:
        The entries with canonical IDs, their keys and cleaned names, in order.

    Raises:
        ContactListError: Listing every bad entry (malformed ID, checksum,
            own ID, unusable key, bad name), or too many entries.
    """
    if len(entries) > MAX_LIST_ENTRIES:
        raise _too_many(len(entries), "entries")
    checked, problems = [], []
    for entry in entries:
        try:
            checked.append(_check(entry, own_id))
        except KithError as exc:
            problems.append(f"{entry.where}: {exc.message}")
    if problems:
        raise bad_entries(problems)
    return checked


def format_lines(contacts: Iterable[Contact]) -> str:
    """The lines format of ``contacts`` (IDs and nicknames), with a comment on top."""
    lines = [c.kith_id if c.name is None else f"{c.kith_id} {c.name}" for c in contacts]
    return _HEADER + "".join(f"{line}\n" for line in lines)


def format_json(contacts: Iterable[Contact]) -> str:
    """The JSON format of ``contacts``: an array of ``{"id", "name"}``."""
    value = [{"id": c.kith_id, "name": c.name} for c in contacts]
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"
