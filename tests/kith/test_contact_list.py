"""Contact lists (pure): the lines and JSON formats, checking entries, export."""

from __future__ import annotations

import json

import pytest

from kith.contact_list import (
    MAX_LIST_BYTES,
    MAX_LIST_ENTRIES,
    MAX_PROBLEMS_SHOWN,
    ContactEntry,
    check_entries,
    entries_from_json,
    entries_to_json,
    format_json,
    format_lines,
    parse_json,
    parse_lines,
)
from kith.errors import ContactListError
from kith.models import Contact
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys

OWN = IdentityKeys(bytes(range(2, 34))).kith_id
BOB = IdentityKeys(bytes(range(32))).kith_id
CAROL = IdentityKeys(bytes(range(1, 33))).kith_id
TYPO = BOB[:20] + ("a" if BOB[20] != "a" else "b") + BOB[21:]
UNUSABLE = format_id(bytes(32))


def _contact(kith_id: str, name: str | None) -> Contact:
    return Contact(kith_id, b"", name, False, 1.0)


def _problems(error: pytest.ExceptionInfo[ContactListError]) -> list[str]:
    return list(error.value.problems)


# -- the lines format ------------------------------------------------------------------


def test_lines_give_an_id_and_an_optional_name_with_spaces() -> None:
    data = f"{BOB} Bob  the Builder \n{CAROL}\n".encode()
    assert parse_lines(data) == [
        ContactEntry(BOB, "Bob  the Builder", "line 1"),
        ContactEntry(CAROL, None, "line 2"),
    ]


def test_blank_lines_and_comments_are_skipped_and_lines_keep_their_numbers() -> None:
    data = f"# my contacts\n\n   \n  # {BOB} not this one\n{CAROL}\tcarol\r\n".encode()
    assert parse_lines(data) == [ContactEntry(CAROL, "carol", "line 5")]


def test_a_byte_order_mark_and_no_final_newline_are_fine() -> None:
    assert parse_lines(f"\ufeff{BOB} bob".encode()) == [ContactEntry(BOB, "bob", "line 1")]


def test_an_empty_list_has_no_entries() -> None:
    assert parse_lines(b"") == []
    assert parse_lines(b"# nothing\n\n") == []


def test_lines_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(ContactListError, match="not UTF-8"):
        parse_lines(f"{BOB} b\xf6b\n".encode("latin-1"))


def test_json_given_as_lines_is_refused_with_a_hint() -> None:
    with pytest.raises(ContactListError, match="use --json"):
        parse_lines(b'[{"id": "x"}]')


def test_a_list_over_the_size_limit_is_refused() -> None:
    with pytest.raises(ContactListError, match="larger than 10 MiB"):
        parse_lines(b"#" * (MAX_LIST_BYTES + 1))


def test_a_list_with_too_many_lines_is_refused() -> None:
    with pytest.raises(ContactListError, match="100,001 lines"):
        parse_lines(b"\n" * (MAX_LIST_ENTRIES + 1))
    assert parse_lines(b"\n" * MAX_LIST_ENTRIES) == []


# -- the JSON format -------------------------------------------------------------------


def test_json_gives_ids_and_names_and_ignores_other_keys() -> None:
    data = json.dumps(
        [{"id": BOB, "name": " bob "}, {"id": CAROL, "name": None, "verified": True}, {"id": OWN}]
    ).encode()
    assert parse_json(data) == [
        ContactEntry(BOB, "bob", "entry 1"),
        ContactEntry(CAROL, None, "entry 2"),
        ContactEntry(OWN, None, "entry 3"),
    ]


def test_json_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ContactListError, match="not valid JSON"):
        parse_json(b'[{"id": ')


def test_json_nested_too_deeply_is_refused() -> None:
    with pytest.raises(ContactListError, match="not valid JSON"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


def test_json_that_is_not_an_array_is_refused() -> None:
    with pytest.raises(ContactListError, match="JSON array"):
        parse_json(json.dumps({"id": BOB}).encode())


def test_json_entries_of_the_wrong_shape_are_all_named() -> None:
    data = json.dumps([{"id": BOB}, "text", {"id": 5}, {"id": CAROL, "name": 1}]).encode()
    with pytest.raises(ContactListError) as error:
        parse_json(data)
    assert _problems(error) == [
        "entry 2: expected an object with an 'id'",
        "entry 3: 'id' must be a string",
        "entry 4: 'name' must be a string or null",
    ]
    assert error.value.message.startswith("nothing imported: 3 bad entries\nentry 2: ")


def test_json_with_too_many_entries_is_refused() -> None:
    with pytest.raises(ContactListError, match="at most 100,000"):
        entries_from_json([{"id": BOB}] * (MAX_LIST_ENTRIES + 1))


def test_the_api_form_keeps_where_each_entry_came_from() -> None:
    entries = [ContactEntry(BOB, "bob", "line 7"), ContactEntry(CAROL, None, "line 9")]
    wire = entries_to_json(entries)
    assert entries_from_json(wire, keep_where=True) == entries
    assert [e.where for e in entries_from_json(wire)] == ["entry 1", "entry 2"]


# -- checking entries --------------------------------------------------------------------


def test_good_entries_get_canonical_ids_keys_and_clean_names() -> None:
    spaced = " ".join(BOB[i : i + 4] for i in range(0, len(BOB), 4)).upper()
    (checked,) = check_entries([ContactEntry(spaced, " bob ", "line 1")], OWN)
    assert (checked.kith_id, checked.name) == (BOB, "bob")
    assert format_id(checked.public_key) == BOB


def test_every_bad_entry_is_named_with_its_line() -> None:
    entries = [
        ContactEntry(BOB, "bob", "line 1"),
        ContactEntry("not-an-id", None, "line 2"),
        ContactEntry(TYPO, None, "line 3"),
        ContactEntry(OWN, None, "line 5"),
        ContactEntry(UNUSABLE, None, "line 6"),
        ContactEntry(CAROL, "x" * 65, "line 8"),
    ]
    with pytest.raises(ContactListError) as error:
        check_entries(entries, OWN)
    problems = _problems(error)
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 5", "line 6", "line 8"]
    assert "invalid Kith ID" in problems[0]
    assert "typo" in problems[1]
    assert "your own ID" in problems[2]
    assert "usable key" in problems[3]
    assert "too long" in problems[4]
    assert error.value.code == "invalid_contact_list"
    assert error.value.message.splitlines()[0] == "nothing imported: 5 bad lines"


def test_a_long_list_of_problems_is_cut_short_in_the_message() -> None:
    entries = [ContactEntry("bad", None, f"line {n}") for n in range(MAX_PROBLEMS_SHOWN + 5)]
    with pytest.raises(ContactListError) as error:
        check_entries(entries, OWN)
    assert len(error.value.problems) == MAX_PROBLEMS_SHOWN + 5
    assert error.value.message.splitlines()[-1] == "… and 5 more"


# -- export --------------------------------------------------------------------------------


def test_export_as_lines_reads_back_the_same() -> None:
    contacts = [_contact(BOB, "Bob the Builder"), _contact(CAROL, None)]
    text = format_lines(contacts)
    assert text.startswith("# ")
    assert f"{BOB} Bob the Builder\n{CAROL}\n" in text
    entries = parse_lines(text.encode())
    assert [(e.kith_id, e.name) for e in entries] == [(BOB, "Bob the Builder"), (CAROL, None)]


def test_export_as_json_reads_back_the_same() -> None:
    contacts = [_contact(BOB, "böb"), _contact(CAROL, None)]
    text = format_json(contacts)
    assert json.loads(text) == [{"id": BOB, "name": "böb"}, {"id": CAROL, "name": None}]
    entries = parse_json(text.encode())
    assert [(e.kith_id, e.name) for e in entries] == [(BOB, "böb"), (CAROL, None)]
