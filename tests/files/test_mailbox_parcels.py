"""The file transfers' side of the mailbox over a real SQLCipher store and a
real vault: our small queued file becomes a parcel, a contact's parcel is
stored as received, and a bad one is dropped with its code."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import msgspec
import pytest

from kith.contacts import contact_label
from kith.files import CHUNK_SIZE, Cancel, Done, Offer, TransferState, encode_file_frame
from kith.files.frames import FILE_FRAME_MARK
from kith.files.parcel import PARCEL_MAX_SIZE, Parcel, decode_mailbox_file_frame
from kith.runtime.files.transfers import FILE_SPACE_MARGIN, FileTransfers
from kith.runtime.live import EventHub
from kith.store.files import FileRecord
from kith_testkit.chat_driver_harness import BOB, NOW, StoreRunner, new_store

ID = "cd" * 16


def _transfers(tmp_path: Path, free: int | None = None) -> FileTransfers:
    """Over a real store and vault; ``free`` bytes of disk left, if given."""
    runner = StoreRunner(new_store(tmp_path))
    return FileTransfers(
        store=runner,
        directory=tmp_path / "files",
        hub=EventHub(),
        log=logging.getLogger("t"),
        free_space=None if free is None else lambda path: free,
    )


def _parcel(data: bytes, digest: str | None = None) -> bytes:
    sha = digest or hashlib.sha256(data).hexdigest()
    return FILE_FRAME_MARK + msgspec.msgpack.encode(
        Parcel(ID, "../a.txt", len(data), sha, int(NOW), data)
    )


async def _queue(files: FileTransfers, data: bytes, state: TransferState) -> None:
    vault = await files.vault()
    writer = vault.create(ID)
    writer.append(data)
    writer.sync()
    writer.close()
    record = FileRecord(
        ID, BOB.kith_id, "out", "a.txt", len(data), hashlib.sha256(data).hexdigest(), "",
        state, "held" if state is TransferState.PAUSED else None, 0, int(NOW),
    )  # fmt: skip
    await files.add(record)


async def test_a_small_queued_file_becomes_a_parcel_of_its_vault_bytes(tmp_path: Path) -> None:
    files = _transfers(tmp_path)
    data = os.urandom(1000)
    await _queue(files, data, TransferState.QUEUED)
    frame = await files.parcel(BOB.kith_id, ID)
    assert frame is not None
    parcel = decode_mailbox_file_frame(frame)
    assert isinstance(parcel, Parcel)
    assert (parcel.data, parcel.name) == (data, "a.txt")
    assert await files.parcel(BOB.kith_id, "ef" * 16) is None  # not a file of ours
    assert await files.parcel("someone else", ID) is None


@pytest.mark.parametrize(
    ("size", "state"),
    [(PARCEL_MAX_SIZE + 1, TransferState.QUEUED), (10, TransferState.PAUSED)],
    ids=["too large", "held"],
)
async def test_a_large_or_held_file_makes_no_parcel(
    tmp_path: Path, size: int, state: TransferState
) -> None:
    files = _transfers(tmp_path)
    await _queue(files, bytes(size), state)
    assert await files.parcel(BOB.kith_id, ID) is None


async def test_a_parcel_is_stored_as_received_and_answered_with_done(tmp_path: Path) -> None:
    files = _transfers(tmp_path)
    data = os.urandom(5000)
    reply = await files.take_from_mailbox(BOB.kith_id, _parcel(data))
    assert reply == encode_file_frame(Done(ID))
    view = await files.get(ID)
    assert (view.state, view.direction, view.name, view.bytes_done) == (
        "received", "in", "a.txt", len(data)
    )  # fmt: skip
    chunks = (await files.content(ID))[1]
    assert b"".join([c async for c in chunks]) == data
    # the same parcel again (fetched twice): answered, nothing changes
    assert await files.take_from_mailbox(BOB.kith_id, _parcel(data)) == reply
    assert [v.id for v in await files.for_contact(BOB.kith_id)] == [ID]


async def test_a_parcel_that_would_fill_the_disk_is_refused_and_the_sender_told(
    tmp_path: Path,
) -> None:
    files = _transfers(tmp_path, free=FILE_SPACE_MARGIN + 4999)  # one byte short
    reply = await files.take_from_mailbox(BOB.kith_id, _parcel(os.urandom(5000)))
    assert reply == encode_file_frame(Cancel(ID, "too_large"))
    view = await files.get(ID)
    assert (view.state, view.reason, view.direction) == ("failed", "too_large", "in")
    assert not (tmp_path / "files" / f"{ID}.kf").exists()  # nothing written
    assert not files.pending(BOB.kith_id)


async def test_a_parcel_that_leaves_the_reserve_free_is_taken(tmp_path: Path) -> None:
    files = _transfers(tmp_path, free=FILE_SPACE_MARGIN + 5000)
    reply = await files.take_from_mailbox(BOB.kith_id, _parcel(os.urandom(5000)))
    assert reply == encode_file_frame(Done(ID))
    assert (await files.get(ID)).state == "received"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_parcel(b"the real bytes", hashlib.sha256(b"other bytes").hexdigest()), "hash_mismatch"),
        (FILE_FRAME_MARK + b"\x92\x01", "malformed_file_frame"),
        (encode_file_frame(Offer(ID, "x", 1, "0" * 64, CHUNK_SIZE, 1)), "malformed_file_frame"),
    ],
    ids=["hash mismatch", "undecodable", "an offer"],
)
async def test_a_bad_file_item_is_dropped_with_its_code(
    tmp_path: Path, frame: bytes, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    files = _transfers(tmp_path)
    with caplog.at_level(logging.WARNING):
        assert await files.take_from_mailbox(BOB.kith_id, frame) is None
    assert f"dropped a mailbox file from {contact_label(BOB.kith_id)} ({code})" in caplog.text
    assert await files.for_contact(BOB.kith_id) == []
    assert not (tmp_path / "files" / f"{ID}.kf").exists()
    # a good parcel after it is stored as usual
    assert await files.take_from_mailbox(BOB.kith_id, _parcel(b"fine")) is not None
    assert (await files.get(ID)).state == "received"


async def test_a_refusal_from_the_mailbox_fails_our_transfer(tmp_path: Path) -> None:
    files = _transfers(tmp_path)
    await _queue(files, b"hello", TransferState.QUEUED)
    refusal = encode_file_frame(Cancel(ID, "too_large"))
    assert await files.take_from_mailbox(BOB.kith_id, refusal) is None
    view = await files.get(ID)
    assert (view.state, view.reason) == ("failed", "too_large")
    assert not files.pending(BOB.kith_id)


async def test_done_from_the_mailbox_ends_our_transfer(tmp_path: Path) -> None:
    files = _transfers(tmp_path)
    await _queue(files, b"hello", TransferState.QUEUED)
    assert await files.take_from_mailbox(BOB.kith_id, encode_file_frame(Done(ID))) is None
    assert (await files.get(ID)).state == "received"
    assert not files.pending(BOB.kith_id)
