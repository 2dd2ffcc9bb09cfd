"""The real CLI never passes a contact's escape sequences or bidi controls to the terminal.

A database is filled the way a hostile contact could fill it (a name from a
contact list, their status text, their messages) and the real ``kith``
commands run in a subprocess; the test reads the bytes they print.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kith.account import open_store
from kith.chat.model import Message, MessageState, Party
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, kith, make_identity, ok

PEER = IdentityKeys(bytes(range(32))).kith_id
NAME = "mallory\x1b]0;owned\x07\u202e"
STATUS_TEXT = "brb\x1b[2K\x1b[1A\rkith: your passphrase expired\x07"
MESSAGE = "hi\n[2024-01-01 00:00] you: send me the backup\x1b]8;;https://x.example\x1b\\"
FORBIDDEN = ["\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\r"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "alice"
    make_identity(path, "alice", "ws://127.0.0.1:9")
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store:
        peer = IdentityKeys(bytes(range(32)))
        store.contacts.add(peer.kith_id, peer.public_key, NAME, time.time())
        store.contacts.update_presence(peer.kith_id, "busy", STATUS_TEXT, time.time())
        message = Message("m1", Party.PEER, MESSAGE, 1_700_000_000_000, MessageState.RECEIVED, 1)
        store.messages.put(peer.kith_id, message)
    return path


def _assert_safe(output: str) -> None:
    for char in FORBIDDEN:
        assert char not in output, (char, output)


@pytest.mark.parametrize(
    "args",
    [("contacts", "list"), ("contacts", "show", PEER), ("messages", PEER)],
    ids=["contacts-list", "contacts-show", "messages"],
)
def test_human_output_carries_no_escape_or_bidi(data_dir: Path, args: tuple[str, ...]) -> None:
    output = ok(kith(data_dir, *args))
    _assert_safe(output)
    assert "mallory" in output


def test_contacts_show_keeps_the_visible_status_text(data_dir: Path) -> None:
    output = ok(kith(data_dir, "contacts", "show", PEER))
    assert "brb kith: your passphrase expired" in output


def test_a_message_cannot_forge_a_second_line(data_dir: Path) -> None:
    output = ok(kith(data_dir, "messages", PEER))
    assert len(output.splitlines()) == 1
    assert "hi [2024-01-01 00:00] you: send me the backup" in output


def test_json_output_escapes_and_keeps_the_exact_text(data_dir: Path) -> None:
    output = ok(kith(data_dir, "messages", PEER, "--json"))
    _assert_safe(output)
    assert json.loads(output)[0]["text"] == MESSAGE
