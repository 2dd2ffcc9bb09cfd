"""The node's file transfers: the pure transfer machines run over the peers' channels.

:class:`FileTransfers` holds one :class:`~kith.files.Outgoing` or
:class:`~kith.files.Incoming` machine per live transfer and carries out
what they return: file frames sealed on the contact's open
:class:`~kith.p2p.SecureChannel` (through the :class:`FilePeer` that
handed them in), chunks read from and appended to the encrypted
:class:`~kith.store.file_vault.FileVault` (on a worker thread), metadata in
the store. Each contact's steps run in order on one :class:`SerialLane`, so a
chunk is on disk before its acknowledgement leaves, and the sender's window
(:data:`~kith.files.transfer.DEFAULT_WINDOW` chunks beyond the last
acknowledgement) bounds what waits in the data channel's buffer.

A chat peer calls :meth:`channel_open` when a session is established (our
unfinished files for that contact are offered again, which resumes them),
:meth:`channel_closed` when it closes (transfers pause) and :meth:`receive`
for every file frame. The user's side (queue, list, cancel, save) is
:class:`~kith.runtime.files.service.FileService`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from kith.chat.model import short_id
from kith.contacts import contact_label
from kith.files import (
    Accept,
    Ack,
    Action,
    Cancel,
    Chunk,
    Discard,
    Done,
    FileFrame,
    Incoming,
    MalformedFileFrame,
    Offer,
    Outgoing,
    SendChunks,
    SendFrame,
    StoreChunk,
    TransferState,
    UnknownTransfer,
    Verify,
    decode_file_frame,
    encode_file_frame,
    sanitise_name,
)
from kith.files.frames import CHUNK_SIZE, chunk_count
from kith.files.parcel import (
    PARCEL_MAX_SIZE,
    Parcel,
    decode_mailbox_file_frame,
    encode_parcel,
)
from kith.files.transfer import DEFAULT_WINDOW
from kith.p2p import SecureChannel
from kith.runtime.files.lane import SerialLane
from kith.runtime.live import EventHub, FileEvent
from kith.runtime.store_writer import StoreRunner
from kith.store.file_vault import FileVault, VaultDamaged, VaultReader, VaultWriter
from kith.store.files import FileRecord
from kith.store.store import Store

__all__ = ["FILE_SPACE_MARGIN", "FilePeer", "FileTransfers", "FileView", "view_of"]

FILE_SPACE_MARGIN: Final = 64 * 1024 * 1024
"""Free disk space an accepted file must leave behind."""
_PERSIST_EVERY: Final = 16
"""Chunks of progress between two writes of ``have`` to the store (1 MiB)."""


class FilePeer(Protocol):
    """What the file side needs of a chat peer (:class:`~kith.runtime.chat.peer.ChatPeer`)."""

    contact_id: str

    @property
    def secure(self) -> SecureChannel | None:
        """The secure channel of the open channel, if any."""
        ...

    def send_frame(self, secure: SecureChannel | None, data: bytes) -> None:
        """Seal and send ``data`` if ``secure`` is still the open channel."""
        ...


@dataclass(frozen=True, slots=True)
class FileView:
    """A transfer as the API shows it."""

    id: str
    contact_id: str
    direction: str
    name: str
    size: int
    sha256: str
    caption: str
    state: str
    reason: str | None
    bytes_done: int
    sent_at: int
    voice_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the API."""
        return {
            "id": self.id,
            "contact": self.contact_id,
            "direction": self.direction,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "caption": self.caption,
            "state": self.state,
            "reason": self.reason,
            "bytes_done": self.bytes_done,
            "sent_at": self.sent_at,
            "kind": "file" if self.voice_ms is None else "voice",
            "duration_ms": self.voice_ms,
        }


@dataclass(eq=False)
class _Live:
    record: FileRecord
    machine: Outgoing | Incoming
    writer: VaultWriter | None = None
    reader: VaultReader | None = None
    stored: tuple[TransferState, int, str | None] = field(default=(TransferState.QUEUED, -1, None))
    """What the store holds: state, chunks held, reason."""

    @property
    def contact_id(self) -> str:
        return self.record.contact_id

    def view(self) -> FileView:
        r, m = self.record, self.machine
        return FileView(
            r.id, r.contact_id, r.direction, r.name, r.size, r.sha256, r.caption,
            m.state.value, m.reason, m.bytes_done, r.sent_at, r.voice_ms,
        )  # fmt: skip

    def close_files(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def view_of(record: FileRecord) -> FileView:
    """The view of a stored transfer that is not live."""
    done = record.size if record.state is TransferState.RECEIVED else record.have * CHUNK_SIZE
    return FileView(
        record.id, record.contact_id, record.direction, record.name, record.size, record.sha256,
        record.caption, record.state.value, record.reason, min(done, record.size), record.sent_at,
        record.voice_ms,
    )  # fmt: skip


def _offer_of(record: FileRecord) -> Offer:
    return Offer(
        record.id, record.name, record.size, record.sha256, CHUNK_SIZE, record.sent_at,
        record.caption, record.voice_ms,
    )  # fmt: skip


class FileTransfers:
    """Every file transfer of the node.

    Args:
        store: The node's store (metadata and the vault key).
        directory: The vault folder under the data directory.
        hub: Live events (a ``file`` event when a transfer changes or moves on).
        log: Where problems go (never names, contents or keys).
        window: Chunks in flight beyond the last acknowledgement.
        reserve: Free disk bytes an accepted file must leave.
        free_space: Free bytes on the disk holding a path (the receiver refuses
            a file that would not fit).
    """

    def __init__(
        self,
        *,
        store: StoreRunner,
        directory: Path,
        hub: EventHub,
        log: logging.Logger,
        window: int = DEFAULT_WINDOW,
        reserve: int = FILE_SPACE_MARGIN,
        free_space: Callable[[Path], int] | None = None,
    ) -> None:
        self._store = store
        self._dir = directory
        self._hub = hub
        self._log = log
        self._window = window
        self._reserve = reserve
        self._free_space = free_space or _free_space
        self._vault: FileVault | None = None
        self._open: dict[str, tuple[FilePeer, SecureChannel | None]] = {}
        self._lanes: dict[str, SerialLane] = {}
        self._live: dict[str, _Live] = {}
        self._unfinished: dict[str, set[str]] = {}
        """Unfinished transfers by contact (connect to them when they come online)."""

    async def load(self) -> None:
        """Learn which contacts have unfinished transfers (before the chat side starts)."""
        records: list[FileRecord] = await self._store.run(lambda s: s.files.unfinished())
        for record in records:
            self._unfinished.setdefault(record.contact_id, set()).add(record.id)

    def pending(self, contact_id: str) -> bool:
        """Whether a transfer with the contact is unfinished."""
        return bool(self._unfinished.get(contact_id))

    # -- the chat peer's side ---------------------------------------------------

    def channel_open(self, peer: FilePeer) -> None:
        """A session was established with the contact: offer our unfinished files."""
        self._open[peer.contact_id] = (peer, peer.secure)
        self._lane(peer.contact_id).submit(lambda: self._resume(peer.contact_id))

    def channel_closed(self, peer: FilePeer) -> None:
        """The contact's channel closed: their transfers pause."""
        current = self._open.get(peer.contact_id)
        if current is None or current[0] is not peer:
            return
        del self._open[peer.contact_id]
        self._lane(peer.contact_id).submit(lambda: self._pause(peer.contact_id))

    def messages_deleted(self, contact_id: str, message_ids: list[str]) -> None:
        """Messages were deleted: the files they carry are cancelled and deleted too."""
        self._lane(contact_id).submit(lambda: self._delete(contact_id, message_ids))

    async def settle(self, contact_id: str) -> None:
        """Wait until every step submitted so far for the contact has run."""
        await self._lane(contact_id).drain()

    def receive(self, peer: FilePeer, plaintext: bytes) -> None:
        """A file frame from the contact (a malformed one is logged and dropped)."""
        try:
            frame = decode_file_frame(plaintext)
        except MalformedFileFrame as exc:
            self._log.warning(
                "dropped a file frame from %s (%s)", contact_label(peer.contact_id), exc.message
            )
            return
        contact = peer.contact_id
        self._lane(contact).submit(lambda: self._on_frame(contact, frame))

    # -- the user's side ------------------------------------------------------------

    async def vault(self) -> FileVault:
        """The vault (its key read from the store on first use)."""
        if self._vault is None:
            key: bytes = await self._store.run(lambda s: s.files.vault_key())
            self._vault = FileVault(self._dir, key)
        return self._vault

    async def add(self, record: FileRecord) -> None:
        """A new outgoing transfer, already in the vault: store it, offer it if we can.
        (An incoming one, a group file's, waits for the contact's offer.)"""
        await self._store.run(lambda s: s.files.add(record))
        if not record.state.final:
            self._unfinished.setdefault(record.contact_id, set()).add(record.id)
        self._hub.publish(FileEvent(view_of(record).to_json()))
        if record.contact_id in self._open and record.direction == "out":
            self._lane(record.contact_id).submit(lambda: self._offer_new(record))

    async def fits(self, size: int) -> bool:
        """Whether a file of ``size`` bytes leaves the reserve free on the vault's disk."""
        free = await asyncio.to_thread(self._free_space, self._dir)
        return size <= free - self._reserve

    async def get(self, file_id: str) -> FileView:
        """A transfer, live or stored.

        Raises:
            UnknownTransfer: no such transfer.
        """
        live = self._live.get(file_id)
        if live is not None:
            return live.view()
        return view_of(await self._record(file_id))

    async def for_contact(self, contact_id: str) -> list[FileView]:
        """Every transfer with a contact, oldest first."""
        records: list[FileRecord] = await self._store.run(lambda s: s.files.for_contact(contact_id))
        return [
            live.view() if (live := self._live.get(r.id)) is not None else view_of(r)
            for r in records
        ]

    async def cancel(self, file_id: str) -> FileView:
        """Cancel a transfer (a finished one is left as it is).

        Raises:
            UnknownTransfer: no such transfer.
        """
        return await self._user(file_id, lambda machine: machine.cancel())

    async def pause(self, file_id: str) -> FileView:
        """Hold a transfer until :meth:`resume` (a finished one is left as it is)."""
        return await self._user(file_id, lambda machine: machine.pause())

    async def resume(self, file_id: str) -> FileView:
        """Go on with a held transfer (from what the receiver holds)."""
        return await self._user(file_id, lambda machine: machine.resume())

    async def _user(
        self, file_id: str, step: Callable[[Outgoing | Incoming], list[Action]]
    ) -> FileView:
        """Run a user's step on a transfer, in its contact's lane; the transfer after it."""
        record = await self._record(file_id)
        lane = self._lane(record.contact_id)

        async def run() -> None:
            live = self._live.get(file_id) or await self._revive(record)
            await self._act(live, step(live.machine))

        lane.submit(run)
        await lane.drain()
        return await self.get(file_id)

    async def save(self, file_id: str, dest: Path) -> FileView:
        """Write a received file out to ``dest`` (a new file).

        Raises:
            UnknownTransfer: no such transfer.
            InvalidFile: the file is not (yet) received, or ``dest`` exists.
        """
        from kith.files import InvalidFile

        view = await self.get(file_id)
        if view.state != TransferState.RECEIVED.value:
            raise InvalidFile(f"the file is {view.state}, not received", code="not_received")
        vault = await self.vault()
        try:
            await asyncio.to_thread(vault.export, file_id, view.size, dest)
        except FileExistsError:
            raise InvalidFile(f"{dest} exists already", code="destination_exists") from None
        except IsADirectoryError:
            raise InvalidFile(f"{dest} is a directory", code="destination_exists") from None
        except OSError as exc:
            raise InvalidFile(f"cannot write {dest}: {exc.strerror}", code="cannot_write") from None
        return view

    async def content(self, file_id: str) -> tuple[FileView, AsyncIterator[bytes]]:
        """A whole file's bytes, chunk by chunk, read from the vault as they are
        taken (ours as sent, or a contact's once received).

        Raises:
            UnknownTransfer: no such transfer.
            InvalidFile: a contact's file that is not (yet) received.
        """
        from kith.files import InvalidFile

        view = await self.get(file_id)
        if view.direction == "in" and view.state != TransferState.RECEIVED.value:
            raise InvalidFile(f"the file is {view.state}, not received", code="not_received")
        stored = (await self._record(file_id)).vault_id
        vault = await self.vault()
        if not await asyncio.to_thread(vault.exists, stored):
            raise InvalidFile("the file is no longer stored", code="not_stored")
        return view, _chunks(vault, stored, view.size)

    # -- the sealed offline mailbox (small files, kith.files.parcel) --------------

    async def parcel(self, contact_id: str, file_id: str) -> bytes | None:
        """The mailbox parcel of our file ``file_id`` for a contact who cannot be
        reached, or None: no such unfinished file of ours, held by the user, or
        too large for the mailbox (it waits for a channel)."""
        if file_id not in self._unfinished.get(contact_id, ()):
            return None
        record = await self._stored(file_id)
        if not _parcel_due(record, contact_id):
            return None
        assert record is not None
        vault = await self.vault()
        try:
            data = await asyncio.to_thread(_read_whole, vault, record.vault_id, record.size)
        except (VaultDamaged, OSError):
            self._log.warning("a stored file to send is damaged; it waits for a channel")
            return None
        return encode_parcel(_offer_of(record), data)

    async def take_from_mailbox(self, contact_id: str, frame: bytes) -> bytes | None:
        """A file frame the contact left in our mailbox, handled in their lane:
        a parcel is stored as a received file, a ``done`` ends our transfer. A
        bad one is logged with its code and dropped. Returns the frame owed to
        the contact through their mailbox (``done`` for a parcel we hold), if any.

        Raises:
            Exception: storing failed (the item is not acknowledged: it comes again).
        """
        try:
            decoded = decode_mailbox_file_frame(frame)
        except MalformedFileFrame as exc:
            self._log.warning(
                "dropped a mailbox file from %s (%s): %s",
                contact_label(contact_id), exc.code, exc.message,
            )  # fmt: skip
            return None
        done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

        async def step() -> None:
            try:
                if isinstance(decoded, Parcel):
                    done.set_result(await self._take_parcel(contact_id, decoded))
                else:
                    await self._on_frame(contact_id, decoded)
                    done.set_result(None)
            except Exception as exc:
                done.set_exception(exc)

        self._lane(contact_id).submit(step)
        return await done

    async def _take_parcel(self, contact_id: str, parcel: Parcel) -> bytes | None:
        """Store a parcel's file as received (its bytes were checked on decoding);
        one we know already (received, or coming over a channel) is left as it is.
        One that would not leave the disk reserve free is refused as on a channel:
        failed (``too_large``) here, and a ``cancel`` owed to the sender."""
        known = self._live.get(parcel.id)
        record = known.record if known is not None else await self._stored(parcel.id)
        if record is not None:
            mine = record.contact_id == contact_id and record.direction == "in"
            received = mine and record.state is TransferState.RECEIVED
            return encode_file_frame(Done(parcel.id)) if received else None
        offer = parcel.offer
        record = FileRecord(
            offer.id, contact_id, "in", sanitise_name(offer.name), offer.size, offer.sha256,
            offer.caption, TransferState.RECEIVED, None, chunk_count(offer.size), offer.sent_at,
            offer.voice_ms,
        )  # fmt: skip
        if not await self.fits(offer.size):
            await self._refuse_too_large(record)
            return encode_file_frame(Cancel(parcel.id, "too_large"))
        vault = await self.vault()
        await asyncio.to_thread(_write_whole, vault, parcel.id, parcel.data)
        await self._store.run(lambda s: s.files.add(record))
        self._hub.publish(FileEvent(view_of(record).to_json()))
        self._log.info(
            "received file %s from %s through the mailbox",
            short_id(offer.id), contact_label(contact_id),
        )  # fmt: skip
        return encode_file_frame(Done(parcel.id))

    async def stop(self) -> None:
        """Stop every lane and close the open files."""
        for lane in self._lanes.values():
            await lane.close()
        for live in self._live.values():
            live.close_files()

    # -- steps (each on the contact's lane) ---------------------------------------

    def _lane(self, contact_id: str) -> SerialLane:
        lane = self._lanes.get(contact_id)
        if lane is None:
            lane = self._lanes[contact_id] = SerialLane(self._log, contact_label(contact_id))
        return lane

    async def _record(self, file_id: str) -> FileRecord:
        live = self._live.get(file_id)
        if live is not None:
            return live.record
        record: FileRecord | None = await self._store.run(lambda s: s.files.get(file_id))
        if record is None:
            raise UnknownTransfer("no file transfer with that ID")
        return record

    async def _revive(self, record: FileRecord) -> _Live:
        """The live transfer of a stored one (an incoming one counts what its file holds)."""
        machine: Outgoing | Incoming
        if record.direction == "out":
            machine = Outgoing(
                _offer_of(record),
                state=record.state,
                have=record.have,
                reason=record.reason,
                window=self._window,
            )
            live = _Live(record, machine, stored=(record.state, record.have, record.reason))
        else:
            writer = None
            have = record.have
            if not record.state.final:
                vault = await self.vault()
                writer = await asyncio.to_thread(vault.resume, record.id, record.size)
                have = writer.have
            machine = Incoming(
                _offer_of(record), state=record.state, have=have, reason=record.reason
            )
            stored = (record.state, record.have, record.reason)
            live = _Live(record, machine, writer=writer, stored=stored)
        self._live[record.id] = live
        return live

    async def _resume(self, contact_id: str) -> None:
        records: list[FileRecord] = await self._store.run(lambda s: s.files.unfinished())
        for record in records:
            if record.contact_id != contact_id:
                continue
            live = self._live.get(record.id) or await self._revive(record)
            if isinstance(live.machine, Outgoing):
                await self._act(live, live.machine.channel_open())
            else:
                await self._act(live, live.machine.probe())

    async def _offer_new(self, record: FileRecord) -> None:
        if record.id not in self._live:
            live = await self._revive(record)
            assert isinstance(live.machine, Outgoing)
            await self._act(live, live.machine.channel_open())

    async def _pause(self, contact_id: str) -> None:
        for live in list(self._live.values()):
            if live.contact_id == contact_id:
                live.machine.channel_closed()
                if live.writer is not None:
                    await asyncio.to_thread(live.writer.sync)
                await self._persist(live, force=True)

    async def _delete(self, contact_id: str, file_ids: list[str]) -> None:
        for file_id in file_ids:
            live = self._live.get(file_id)
            record = live.record if live is not None else await self._stored(file_id)
            if record is None or record.contact_id != contact_id:
                continue
            live = live or await self._revive(record)
            cancel = live.machine.cancel()
            await self._act(live, [a for a in cancel if isinstance(a, SendFrame)])
            live.close_files()
            self._live.pop(file_id, None)
            vault = await self.vault()
            await asyncio.to_thread(vault.delete, file_id)
            await self._store.run(_deleter(file_id))
            if record.source is not None and not await self._shared(record.source):
                await asyncio.to_thread(vault.delete, record.source)  # its last transfer went

    async def _shared(self, source: str) -> bool:
        """Whether a transfer still sends the bytes stored under ``source``."""
        records: list[FileRecord] = await self._store.run(lambda s: s.files.from_source(source))
        return bool(records)

    async def _stored(self, file_id: str) -> FileRecord | None:
        record: FileRecord | None = await self._store.run(lambda s: s.files.get(file_id))
        return record

    async def _on_frame(self, contact_id: str, frame: FileFrame) -> None:
        if isinstance(frame, Offer):
            await self._on_offer(contact_id, frame)
            return
        live = self._live.get(frame.id)
        if live is None:
            record: FileRecord | None = await self._store.run(lambda s: s.files.get(frame.id))
            if record is None and isinstance(frame, Accept | Ack):
                self._send(contact_id, Cancel(frame.id, "cancelled"))  # we forgot it: it ended
                return
            if record is None or record.contact_id != contact_id:
                return
            live = await self._revive(record)
        wanted = "out" if isinstance(frame, Accept | Ack | Done) else "in"
        if live.contact_id != contact_id or (
            live.record.direction != wanted and not isinstance(frame, Cancel)
        ):
            return  # not theirs, or a frame for the other direction
        if isinstance(frame, Accept) and frame.have:
            self._log.info(
                "file %s for %s resumes at chunk %d of %d",
                short_id(frame.id), contact_label(contact_id), frame.have, live.machine.chunks,
            )  # fmt: skip
        await self._act(live, live.machine.receive(frame))

    async def _on_offer(self, contact_id: str, offer: Offer) -> None:
        live = self._live.get(offer.id)
        if live is None:
            record: FileRecord | None = await self._store.run(lambda s: s.files.get(offer.id))
            if record is None:
                live = await self._accept_new(contact_id, offer)
                if live is None:
                    return
            else:
                live = await self._revive(record)
        mine = live.record
        if (
            live.contact_id != contact_id
            or not isinstance(live.machine, Incoming)
            or (mine.size, mine.sha256) != (offer.size, offer.sha256)  # a group post's file
        ):
            self._send(contact_id, Cancel(offer.id, "refused"))
            return
        await self._act(live, live.machine.offered())

    async def _accept_new(self, contact_id: str, offer: Offer) -> _Live | None:
        vault = await self.vault()
        record = FileRecord(
            offer.id, contact_id, "in", sanitise_name(offer.name), offer.size, offer.sha256,
            offer.caption, TransferState.SENDING, None, 0, offer.sent_at, offer.voice_ms,
        )  # fmt: skip
        if not await self.fits(offer.size):
            await self._refuse_too_large(record)
            self._send(contact_id, Cancel(offer.id, "too_large"))
            return None
        writer = await asyncio.to_thread(vault.create, offer.id)
        await self._store.run(lambda s: s.files.add(record))
        self._unfinished.setdefault(contact_id, set()).add(offer.id)
        self._hub.publish(FileEvent(view_of(record).to_json()))
        live = _Live(
            record, Incoming(offer, state=TransferState.PAUSED), writer=writer,
            stored=(TransferState.SENDING, 0, None),
        )  # fmt: skip
        self._live[offer.id] = live
        return live

    async def _refuse_too_large(self, record: FileRecord) -> None:
        """Store an offered file as failed (``too_large``: it would not leave the
        disk reserve free) and show it; the caller tells the sender."""
        self._log.info("refused a file from %s: too large", contact_label(record.contact_id))
        refused = FileRecord(
            **{**_fields(record), "state": TransferState.FAILED, "reason": "too_large"}
        )
        await self._store.run(lambda s: s.files.add(refused))
        self._hub.publish(FileEvent(view_of(refused).to_json()))

    async def _act(self, live: _Live, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case SendFrame(frame=frame):
                    self._send(live.contact_id, frame)
                case SendChunks(start=start, stop=stop):
                    await self._send_chunks(live, start, stop)
                case StoreChunk(data=data):
                    assert live.writer is not None
                    await asyncio.to_thread(live.writer.append, data)
                case Verify():
                    await self._verify(live)
                case Discard():
                    await self._discard(live)
        await self._persist(live)
        if live.machine.state.final:
            live.close_files()
            self._live.pop(live.record.id, None)
            self._unfinished.get(live.contact_id, set()).discard(live.record.id)

    async def _send_chunks(self, live: _Live, start: int, stop: int) -> None:
        if live.reader is None:
            vault = await self.vault()
            stored = live.record.vault_id
            live.reader = await asyncio.to_thread(vault.open, stored, live.record.size)
        reader = live.reader
        try:
            chunks = await asyncio.to_thread(lambda: [reader.chunk(i) for i in range(start, stop)])
        except VaultDamaged:
            self._log.warning("a stored file to send is damaged; the transfer fails")
            await self._act(live, live.machine.cancel())
            return
        for index, data in enumerate(chunks, start):
            self._send(live.contact_id, Chunk(live.record.id, index, data))

    async def _verify(self, live: _Live) -> None:
        assert isinstance(live.machine, Incoming)
        if live.writer is not None:
            await asyncio.to_thread(live.writer.sync)
            live.close_files()
        vault = await self.vault()
        try:
            digest = await asyncio.to_thread(vault.sha256, live.record.id, live.record.size)
        except VaultDamaged:
            digest = ""
        await self._act(live, live.machine.verified(digest == live.record.sha256))

    async def _discard(self, live: _Live) -> None:
        live.close_files()
        vault = await self.vault()
        await asyncio.to_thread(vault.delete, live.record.id)

    async def _persist(self, live: _Live, *, force: bool = False) -> None:
        state, have, reason = live.machine.state, live.machine.have, live.machine.reason
        old_state, old_have, old_reason = live.stored
        if (state, have, reason) == live.stored:
            return
        moved_only = state is old_state and reason == old_reason
        if not force and moved_only and have - old_have < _PERSIST_EVERY:
            return
        live.stored = (state, have, reason)
        self._hub.publish(FileEvent(live.view().to_json()))
        file_id = live.record.id

        def write(store: Store) -> None:
            store.files.update(file_id, state, reason, have)

        await self._store.run(write)

    def _send(self, contact_id: str, frame: FileFrame) -> bool:
        current = self._open.get(contact_id)
        if current is None:
            return False
        peer, secure = current
        peer.send_frame(secure, encode_file_frame(frame))
        return True


async def _chunks(vault: FileVault, file_id: str, size: int) -> AsyncIterator[bytes]:
    reader = await asyncio.to_thread(vault.open, file_id, size)
    try:
        for index in range(reader.count):
            yield await asyncio.to_thread(reader.chunk, index)
    finally:
        reader.close()


def _parcel_due(record: FileRecord | None, contact_id: str) -> bool:
    """Whether our stored transfer may go through the contact's mailbox."""
    if record is None or record.contact_id != contact_id or record.direction != "out":
        return False
    return not (record.state.final or record.reason == "held" or record.size > PARCEL_MAX_SIZE)


def _read_whole(vault: FileVault, file_id: str, size: int) -> bytes:
    """A small file's bytes from the vault (on a worker thread)."""
    reader = vault.open(file_id, size)
    try:
        return b"".join(reader.chunk(index) for index in range(reader.count))
    finally:
        reader.close()


def _write_whole(vault: FileVault, file_id: str, data: bytes) -> None:
    """Write a small file into the vault afresh and sync it (on a worker thread)."""
    writer = vault.create(file_id)
    try:
        for start in range(0, len(data), CHUNK_SIZE):
            writer.append(data[start : start + CHUNK_SIZE])
        writer.sync()
    finally:
        writer.close()


def _deleter(file_id: str) -> Callable[[Store], None]:
    def delete(store: Store) -> None:
        store.files.delete(file_id)

    return delete


def _fields(record: FileRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FileRecord.__slots__}


def _free_space(path: Path) -> int:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free
