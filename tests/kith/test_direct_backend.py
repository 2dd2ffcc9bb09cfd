"""The database backend behind the CLI, used in-process on a real data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.account import create_account, open_store
from kith.backend import Backend
from kith.datadir import DataDir
from kith.direct import DirectBackend
from kith.errors import ContactError, KithError, SettingError
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys

SECRET = FixedPassphrase("direct backend passphrase")
PEER = IdentityKeys(bytes(range(32)))


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")
    data_dir = DataDir(tmp_path)
    create_account(data_dir, name="alice", protection=Protection.PASSPHRASE, passphrases=SECRET)
    opened: Backend = DirectBackend(open_store(data_dir, SECRET), clock=lambda: 42.0)
    yield opened
    opened.close()


def test_add_contact_canonicalises_the_id(backend: Backend) -> None:
    contact = backend.add_contact(PEER.kith_id.upper(), " bob ")
    assert (contact.kith_id, contact.name, contact.added_at) == (PEER.kith_id, "bob", 42.0)


def test_add_own_id_is_refused(backend: Backend) -> None:
    with pytest.raises(ContactError, match="own ID"):
        backend.add_contact(backend.identity().kith_id)


def test_contact_details_include_the_safety_number(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id)
    details = backend.contact(PEER.kith_id)
    assert len(details.safety_number) == 60
    assert details.to_json()["safety_number"] == details.safety_number


def test_rename_to_none_clears_the_nickname(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id, "bob")
    assert backend.rename_contact(PEER.kith_id, None).name is None


def test_verify_and_undo(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id)
    assert backend.verify_contact(PEER.kith_id).verified is True
    assert backend.verify_contact(PEER.kith_id, False).verified is False


def test_remove_then_list_is_empty(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id)
    backend.remove_contact(PEER.kith_id)
    assert backend.contacts() == []


def test_set_status_updates_both_settings(backend: Backend) -> None:
    status = backend.set_status("busy", "deep work")
    assert (status.status, status.text) == ("busy", "deep work")
    assert backend.get_setting("user_status").value == "busy"


def test_invalid_status_changes_nothing(backend: Backend) -> None:
    with pytest.raises(SettingError):
        backend.set_status("away", "x" * 141)
    assert backend.status().status == "online"


def test_settings_set_parses_text(backend: Backend) -> None:
    assert backend.set_setting("notifications", "off").value is False
    assert backend.reset_setting("notifications").value is True


def test_unknown_setting(backend: Backend) -> None:
    with pytest.raises(SettingError, match="unknown setting"):
        backend.get_setting("nope")


def test_set_name_validates(backend: Backend) -> None:
    assert backend.set_name(" Alice ").name == "Alice"
    with pytest.raises(KithError):
        backend.set_name("")


def test_a_reply_with_no_node_running_names_the_original(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id)
    original = backend.send_message(PEER.kith_id, "lunch?")
    reply = backend.send_message(PEER.kith_id, "or dinner?", original.id)
    assert reply.reply_to == original.id
    assert [m.reply_to for m in backend.messages(PEER.kith_id, 10)] == [None, original.id]


def test_a_reply_to_an_unknown_message_with_no_node_running_is_refused(backend: Backend) -> None:
    backend.add_contact(PEER.kith_id)
    with pytest.raises(KithError) as refused:
        backend.send_message(PEER.kith_id, "re", "e" * 32)
    assert refused.value.code == "unknown_message"
    assert backend.messages(PEER.kith_id, 10) == []
