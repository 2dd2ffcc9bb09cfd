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
import time
from collections.abc import Callable
from pathlib import Path

from kith.chat import new_message_id
from kith.chat.frames import check_text
from kith.conversation_store import ChatMessage
from kith.files import InvalidFile, TransferState, sanitise_name
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.files.transfers import FileTransfers, FileView
from kith.store.files import FileRecord

__all__ = ["FileService"]


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
        now = self._clock()
        name = sanitise_name(path.name)
        record = FileRecord(
            file_id, peer.contact_id, "out", name, size, sha256, caption,
            TransferState.QUEUED, None, 0, int(now),
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

    async def cancel(self, file_id: str) -> FileView:
        """Cancel a transfer (tells the contact if connected)."""
        return await self._files.cancel(file_id)

    async def save(self, file_id: str, dest: Path) -> FileView:
        """Write a received file out to the new file ``dest``."""
        if not dest.is_absolute():
            raise InvalidFile("the destination must be an absolute path", code="relative_path")
        return await self._files.save(file_id, dest)
