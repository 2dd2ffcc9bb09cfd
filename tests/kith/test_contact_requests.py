"""The rules of contact requests on a real SQLCipher store (no node)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith import contact_requests
from kith.contact_requests import (
    accept_request,
    block_id,
    decline_request,
    listed_requests,
    receive_request,
    unblock_id,
)
from kith.direct import DirectBackend
from kith.errors import ContactError
from kith.safety import safety_number
from kith.store import Store
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
ME = IdentityKeys(bytes(32))
ALICE = IdentityKeys(bytes(range(32)))
CAROL = IdentityKeys(bytes(range(64, 96)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "kith.db"
    with Store.create(path, KEY) as created:
        created.identity.create(ME, "me", 1.0)
    with Store.open(path, KEY) as opened:
        yield opened


def test_a_request_is_kept_with_the_senders_name(store: Store) -> None:
    kept = receive_request(store, ALICE.public_key, "Alice", 10.0)
    assert kept is not None
    assert (kept.kith_id, kept.name, kept.received_at) == (ALICE.kith_id, "Alice", 10.0)
    assert [r.kith_id for r in store.requests.list()] == [ALICE.kith_id]


def test_a_repeated_request_refreshes_the_one_kept(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    receive_request(store, ALICE.public_key, "Alice L.", 20.0)
    (only,) = store.requests.list()
    assert (only.name, only.received_at) == ("Alice L.", 20.0)


def test_a_name_with_control_characters_is_kept_empty(store: Store) -> None:
    kept = receive_request(store, ALICE.public_key, "Al\x1b[2Jice", 10.0)
    assert kept is not None
    assert kept.name == ""


def test_requests_from_contacts_ourselves_and_blocked_ids_are_not_kept(store: Store) -> None:
    store.contacts.add(ALICE.kith_id, ALICE.public_key, None, 1.0)
    store.blocked.add(CAROL.kith_id, 1.0)
    assert receive_request(store, ALICE.public_key, "Alice", 10.0) is None
    assert receive_request(store, CAROL.public_key, "Carol", 10.0) is None
    assert receive_request(store, ME.public_key, "me", 10.0) is None
    assert store.requests.list() == []


def test_requests_beyond_the_cap_are_refused_and_the_kept_ones_stay(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contact_requests, "MAX_REQUESTS", 1)
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    with pytest.raises(ContactError) as caught:
        receive_request(store, CAROL.public_key, "Carol", 11.0)
    assert caught.value.code == "too_many_requests"
    assert receive_request(store, ALICE.public_key, "Alice", 12.0) is not None  # a repeat fits
    assert [r.kith_id for r in store.requests.list()] == [ALICE.kith_id]


def test_accepting_makes_the_sender_a_contact_with_their_name(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    contact = accept_request(store, ALICE.kith_id.upper(), 30.0)
    assert (contact.kith_id, contact.name, contact.own_name) == (ALICE.kith_id, None, "Alice")
    assert contact.display_name == "Alice"
    assert store.requests.list() == []


def test_answering_a_request_that_does_not_wait_is_an_error(store: Store) -> None:
    for answer in (lambda: accept_request(store, ALICE.kith_id, 1.0),
                   lambda: decline_request(store, ALICE.kith_id)):  # fmt: skip
        with pytest.raises(ContactError) as caught:
            answer()
        assert caught.value.code == "unknown_request"
    with pytest.raises(ContactError) as bad:
        decline_request(store, "not-an-id")
    assert bad.value.code == "malformed_id"


def test_declining_forgets_the_request(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    assert decline_request(store, ALICE.kith_id) == ALICE.kith_id
    assert store.requests.list() == []
    assert store.contacts.list() == []


def test_blocking_drops_the_request_the_contact_and_later_requests(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    store.contacts.add(CAROL.kith_id, CAROL.public_key, "carol", 1.0)
    assert block_id(store, ALICE.kith_id, 20.0) == (ALICE.kith_id, False)
    assert block_id(store, CAROL.kith_id, 21.0) == (CAROL.kith_id, True)
    assert store.requests.list() == []
    assert store.contacts.list() == []
    assert receive_request(store, ALICE.public_key, "Alice", 30.0) is None
    assert store.blocked.list() == [ALICE.kith_id, CAROL.kith_id]


def test_the_direct_backend_lists_requests_with_safety_numbers(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    backend = DirectBackend(store, clock=lambda: 50.0)
    expected = safety_number(ME.public_key, ALICE.public_key)
    assert backend.requests() == [
        {"id": ALICE.kith_id, "name": "Alice", "received_at": 10.0, "safety_number": expected}
    ]
    assert listed_requests(store) == backend.requests()
    assert backend.accept_request(ALICE.kith_id).added_at == 50.0


def test_adding_a_contact_answers_their_request(store: Store) -> None:
    receive_request(store, ALICE.public_key, "Alice", 10.0)
    DirectBackend(store).add_contact(ALICE.kith_id)
    assert store.requests.list() == []


def test_unblocking_lets_requests_in_again(store: Store) -> None:
    block_id(store, ALICE.kith_id, 20.0)
    assert unblock_id(store, ALICE.kith_id.upper()) == ALICE.kith_id
    assert store.blocked.list() == []
    assert receive_request(store, ALICE.public_key, "Alice", 30.0) is not None


def test_unblocking_an_id_that_is_not_blocked_is_an_error(store: Store) -> None:
    block_id(store, CAROL.kith_id, 20.0)
    with pytest.raises(ContactError) as refused:
        unblock_id(store, ALICE.kith_id)
    assert refused.value.code == "not_blocked"
    with pytest.raises(ContactError):
        unblock_id(store, "not-an-id")
    assert store.blocked.list() == [CAROL.kith_id]
