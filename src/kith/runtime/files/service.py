"""What the local API offers about files: send one, list, cancel, save.

Sending a file writes it into the encrypted vault first (so what goes out is
what was there when the user sent it, and a missing or unreadable path
queues nothing), then stores the transfer and writes a chat message with the
same ID (the caption, or the file's name): the message shows the file in the
conversation and, like any message, makes the node connect when the contact
is online; the open channel then offers the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from kith.chat import new_message_id
from kith.chat.frames import check_text
from kith.conversation_store import ChatMessage
from kith.files import CHUNK_SIZE, InvalidFile, TransferState, sanitise_name
from kith.files.frames import MAX_FILE_SIZE, check_voice_ms
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.peer import ChatPeer
from kith.runtime.files.transfers import FileTransfers, FileView
from kith.store.file_vault import FileVault
from kith.store.files import FileRecord

__all__ = ["FileService", "store_stream"]


class FileService:
    """User actions on file transfers.

    Args:
        files: The node's file transfers.
        chat: The chat driver (the message that carries a file).
        clock: Wall-clock seconds.
    """

    def __init__(
        self, files: FileTransfers, chat: ChatDriver, clock: Callable[[], float] = time.time
    ) -> None:
        self._files = files
        self._chat = chat
        self._clock = clock

    async def send(
        self, contact: str, path: Path, caption: str = ""
    ) -> tuple[ChatMessage, FileView]:
        """Queue the file at ``path`` for ``contact`` with an optional caption.

        Raises:
            InvalidFile: the path is relative, missing, a directory or unreadable.
            InvalidMessage: the caption is too long.
        """
        peer = self._chat.peer(contact)
        if not path.is_absolute():
            raise InvalidFile("the file's path must be absolute", code="relative_path")
        if caption:
            check_text(caption)
        file_id = new_message_id()
        vault = await self._files.vault()
        size, sha256 = await asyncio.to_thread(vault.import_file, file_id, path)
        return await self._queue(peer, file_id, path.name, size, sha256, caption)

    async def upload(
        self,
        contact: str,
        name: str,
        caption: str,
        body: AsyncIterator[bytes],
        voice_ms: int | None = None,
    ) -> tuple[ChatMessage, FileView]:
        """Queue a file whose bytes arrive as ``body`` (the browser's upload),
        encrypted into the vault as they come, never held whole; with ``voice_ms``,
        a voice message of that many milliseconds.

        Raises:
            InvalidFile: the upload is over 1 TiB, or ``voice_ms`` is out of bounds.
            InvalidMessage: the caption is too long.
        """
        peer = self._chat.peer(contact)
        if caption:
            check_text(caption)
        if voice_ms is not None and (problem := check_voice_ms(voice_ms)) is not None:
            raise InvalidFile(problem, code="invalid_voice")
        file_id = new_message_id()
        vault = await self._files.vault()
        size, sha256 = await store_stream(vault, file_id, body)
        return await self._queue(peer, file_id, name, size, sha256, caption, voice_ms)

    async def _queue(
        self,
        peer: ChatPeer,
        file_id: str,
        name: str,
        size: int,
        sha256: str,
        caption: str,
        voice_ms: int | None = None,
    ) -> tuple[ChatMessage, FileView]:
        now = self._clock()
        name = sanitise_name(name)
        record = FileRecord(
            file_id, peer.contact_id, "out", name, size, sha256, caption,
            TransferState.QUEUED, None, 0, int(now), voice_ms,
        )  # fmt: skip
        await self._files.add(record)
        events = peer.conversation.send_text(file_id, caption or name, now, None)
        await self._chat.execute(peer, events)
        return self._chat.view(peer, file_id), await self._files.get(file_id)

    async def list(self, contact: str) -> list[FileView]:
        """Every transfer with a contact, oldest first."""
        peer = self._chat.peer(contact)  # an unknown contact is an error, not an empty list
        return await self._files.for_contact(peer.contact_id)

    async def get(self, file_id: str) -> FileView:
        """One transfer."""
        return await self._files.get(file_id)

    async def content(self, file_id: str) -> tuple[FileView, AsyncIterator[bytes]]:
        """A file's bytes, streamed from the vault (a contact's once received)."""
        return await self._files.content(file_id)

    async def cancel(self, file_id: str) -> FileView:
        """Cancel a transfer (tells the contact if connected)."""
        return await self._files.cancel(file_id)

    async def pause(self, file_id: str) -> FileView:
        """Hold a transfer until it is resumed."""
        return await self._files.pause(file_id)

    async def resume(self, file_id: str) -> FileView:
        """Go on with a held transfer (a small one of ours for a contact who
        looks offline goes through their mailbox)."""
        view = await self._files.resume(file_id)
        if view.direction == "out":
            self._chat.file_resumed(view.contact_id, file_id)
        return view

    async def save(self, file_id: str, dest: Path) -> FileView:
        """Write a received file out to the new file ``dest``."""
        if not dest.is_absolute():
            raise InvalidFile("the destination must be an absolute path", code="relative_path")
        return await self._files.save(file_id, dest)


async def store_stream(
    vault: FileVault, file_id: str, body: AsyncIterator[bytes]
) -> tuple[int, str]:
    """Encrypt a stream into the vault in 64 KiB chunks; its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    pending = bytearray()
    writer = await asyncio.to_thread(vault.create, file_id)
    try:
        async for data in body:
            size += len(data)
            if size > MAX_FILE_SIZE:
                raise InvalidFile("a file can be at most 1 TiB", code="file_too_large")
            digest.update(data)
            pending += data
            while len(pending) >= CHUNK_SIZE:
                chunk = bytes(pending[:CHUNK_SIZE])
                del pending[:CHUNK_SIZE]
                await asyncio.to_thread(writer.append, chunk)
        if pending:
            await asyncio.to_thread(writer.append, bytes(pending))
        await asyncio.to_thread(writer.sync)
    except BaseException:
        writer.close()
        await asyncio.to_thread(vault.delete, file_id)
        raise
    writer.close()
    return size, digest.hexdigest()
