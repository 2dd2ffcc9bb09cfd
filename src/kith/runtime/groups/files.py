"""Files in groups: a sealed post for every member, the bytes pairwise (docs/groups.md).

Sending (:class:`GroupFiles`): the file is written once into the encrypted
vault under the group message's ID, the post that carries its name, size and
SHA-256 (:class:`~kith.groups.files.GroupFile`) is sealed with our chain like
any group message, and each member of the group at that moment gets their own
1:1 transfer (:class:`~kith.runtime.files.FileTransfers`) of those bytes
(``source``: the message's vault file), with the ID
:func:`~kith.groups.files.transfer_id` derives. Each transfer queues, pauses and
resumes on its own, like a 1:1 file; a member removed before the post was sealed
gets neither the post nor a transfer.

Receiving (:class:`GroupFileInbox`): a post that carries a file makes the member
expect the sender's offer under the derived ID (a ``queued`` incoming transfer,
so the chat driver connects to the sender when they are online); the offer must
come from the post's author with the post's size and SHA-256.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, Final, Protocol

from kith.chat import new_message_id
from kith.errors import KithError
from kith.files import InvalidFile, TransferState, UnknownTransfer, sanitise_name
from kith.groups.errors import InvalidChange
from kith.groups.files import GroupFile, transfer_id
from kith.groups.frames import MAX_TEXT, Post
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.files.service import store_stream
from kith.runtime.files.transfers import FileTransfers, FileView
from kith.runtime.store_writer import StoreRunner
from kith.store.files import FileRecord
from kith.store.groups import GroupMessageRecord, GroupRecord

__all__ = ["GroupFileInbox", "GroupFiles", "GroupSender", "group_file_json"]

_UNFINISHED: Final = ("sending", "paused", "queued")
"""Unfinished states, in the order a sender's card shows them first."""


class GroupSender(Protocol):
    """What sending needs of the group hub (:class:`~kith.runtime.groups.hub.GroupHub`)."""

    async def groups(self) -> list[GroupRecord]: ...

    async def send(
        self,
        group_id: bytes,
        text: str,
        *,
        file: GroupFile | None = None,
        message_id: str | None = None,
    ) -> tuple[GroupMessageRecord, bytes]: ...

    def waiting_for(self) -> list[str]: ...

    async def messages(self, group_id: bytes, limit: int = 200) -> list[GroupMessageRecord]: ...


class GroupFileInbox:
    """A member's side: expect the sender's offer of a post's file; and either side's:
    a deleted message's file goes with it.

    Args:
        files: The node's file transfers.
        me: Our Kith ID.
        store: The node's store (which transfers share a message's bytes).
    """

    def __init__(self, files: FileTransfers, me: str, store: StoreRunner) -> None:
        self._files = files
        self._me = me
        self._store = store

    async def deleted(self, sender_id: str, message_id: str) -> None:
        """A group message was deleted: so is the file it carries, as a deleted 1:1
        message's (unfinished transfers are cancelled; the bytes go on both sides)."""
        if sender_id != self._me:
            tid = transfer_id(message_id, sender_id, self._me)
            self._files.messages_deleted(sender_id, [tid])
            return
        records: list[FileRecord] = await self._store.run(lambda s: s.files.from_source(message_id))
        for record in records:  # the shared copy goes with the last of them
            self._files.messages_deleted(record.contact_id, [record.id])

    async def incoming(self, sender_id: str, post: Post) -> None:
        """A member's post that carries a file was stored: wait for its offer (refused
        at once, ``too_large``, if it would not fit on our disk). A transfer under its
        ID that is not the post's file (another sender, size or SHA-256) is cancelled."""
        file = post.file
        if file is None:
            return
        tid = transfer_id(post.id, sender_id, self._me)
        try:
            known = await self._files.get(tid)
        except UnknownTransfer:
            pass
        else:  # the offer came first: that transfer is it, if it is the post's file
            if (known.contact_id, known.size, known.sha256) != (sender_id, file.size, file.sha256):
                await self._files.cancel(tid)
            return
        fits = await self._files.fits(file.size)
        record = FileRecord(
            tid, sender_id, "in", sanitise_name(file.name), file.size, file.sha256, "",
            TransferState.QUEUED if fits else TransferState.FAILED,
            None if fits else "too_large", 0, post.sent_at // 1000,
        )  # fmt: skip
        await self._files.add(record)


class GroupFiles:
    """Send files to a group and show each group message's file.

    Args:
        groups: The group hub (seals and queues the post).
        files: The node's file transfers (one per member).
        chat: The chat driver (connects to members who are online).
        store: The node's store (which transfers share a message's bytes).
        me: Our Kith ID.
        clock: Wall-clock seconds.
    """

    def __init__(
        self,
        *,
        groups: GroupSender,
        files: FileTransfers,
        chat: ChatDriver,
        store: StoreRunner,
        me: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._groups = groups
        self._files = files
        self._chat = chat
        self._store = store
        self._me = me
        self._clock = clock

    async def send(
        self, group_id: bytes, path: Path, caption: str = ""
    ) -> tuple[GroupMessageRecord, dict[str, Any]]:
        """Send the file at ``path`` (absolute) to every other member.

        Raises:
            InvalidFile: the path is relative, missing, a directory or unreadable.
            InvalidChange: no such group, we are not in it, or nobody else is; or the
                caption is too long.
        """
        if not path.is_absolute():
            raise InvalidFile("the file's path must be absolute", code="relative_path")
        await self._members(group_id, caption)
        message_id = new_message_id()
        vault = await self._files.vault()
        size, sha256 = await asyncio.to_thread(vault.import_file, message_id, path)
        return await self._post(group_id, message_id, path.name, size, sha256, caption)

    async def upload(
        self, group_id: bytes, name: str, caption: str, body: AsyncIterator[bytes]
    ) -> tuple[GroupMessageRecord, dict[str, Any]]:
        """Send a file whose bytes arrive as ``body`` (the page's upload), streamed
        into the vault, to every other member."""
        await self._members(group_id, caption)
        message_id = new_message_id()
        vault = await self._files.vault()
        size, sha256 = await store_stream(vault, message_id, body)
        return await self._post(group_id, message_id, name, size, sha256, caption)

    async def _members(self, group_id: bytes, caption: str) -> list[str]:
        """The other members of a group we are in (checked before any byte is stored)."""
        if len(caption) > MAX_TEXT:
            raise InvalidChange(f"a caption is at most {MAX_TEXT} characters", code="too_long")
        record = next(
            (r for r in await self._groups.groups() if r.state.group_id == group_id), None
        )
        if record is None:
            raise InvalidChange("no such group", code="unknown_group")
        if not record.active:
            raise InvalidChange("we are no longer a member of this group")
        others = [m for m in record.state.members if m != self._me]
        if not others:
            raise InvalidChange("nobody else is in this group yet", code="no_members")
        return others

    async def _post(
        self, group_id: bytes, message_id: str, name: str, size: int, sha256: str, caption: str
    ) -> tuple[GroupMessageRecord, dict[str, Any]]:
        """Seal the post, then queue one transfer for each member who was in the group
        both before and after it was sealed (nobody removed meanwhile gets the bytes)."""
        name = sanitise_name(name)
        try:
            before = await self._members(group_id, "")
            message, _ = await self._groups.send(
                group_id,
                caption or name,
                file=GroupFile(name, size, sha256),
                message_id=message_id,
            )
            after = set(await self._members(group_id, ""))
        except BaseException:
            vault = await self._files.vault()
            await asyncio.to_thread(vault.delete, message_id)
            raise
        sent_at = int(self._clock())
        for member in (m for m in before if m in after):
            await self._files.add(
                FileRecord(
                    transfer_id(message_id, self._me, member), member, "out", name, size,
                    sha256, caption, TransferState.QUEUED, None, 0, sent_at, source=message_id,
                )
            )  # fmt: skip
        self._connect()
        shown = await self.views(group_id, [message])
        return message, shown[message.id]

    async def of_group(self, group_id: bytes) -> dict[str, dict[str, Any]]:
        """The ``file`` of each of the group's latest messages that carries one."""
        return await self.views(group_id, await self._groups.messages(group_id))

    async def views(
        self, group_id: bytes, messages: Iterable[GroupMessageRecord]
    ) -> dict[str, dict[str, Any]]:
        """The ``file`` of each of these messages that carries one, by message ID: a
        member's transfer to us, or (ours) every member's transfer summed up."""
        shown: dict[str, dict[str, Any]] = {}
        for message in messages:
            if message.sender_id == self._me:
                views = await self._sent(message.id)
            else:
                views = await self._received(message)
            if views:
                shown[message.id] = group_file_json(views, message.sender_id == self._me)
        return shown

    async def _sent(self, message_id: str) -> list[FileView]:
        records: list[FileRecord] = await self._store.run(lambda s: s.files.from_source(message_id))
        return [await self._files.get(r.id) for r in records]

    async def _received(self, message: GroupMessageRecord) -> list[FileView]:
        try:
            view = await self._files.get(transfer_id(message.id, message.sender_id, self._me))
        except UnknownTransfer:
            return []
        return [view] if view.contact_id == message.sender_id else []

    def _connect(self) -> None:
        """Connect to every online member something waits for (as the group service)."""
        for contact_id in {*self._groups.waiting_for()}:
            try:
                peer = self._chat.peer(contact_id)
            except KithError:
                continue
            if peer.online and not peer.is_open:
                self._chat.connect(peer)


def group_file_json(views: list[FileView], ours: bool) -> dict[str, Any]:
    """A group message's ``file``: a transfer as ``/api/files/{fid}`` shows it (``id``,
    ``name``, ``size``, ``sha256``, ``state``, ``bytes_done``…): a member's, the one to us;
    ours, the first member's (every member's has the same bytes) with ``transfers``, one
    per member, and then ``state`` and ``bytes_done`` sum them up: ``sending`` while any
    moves, else ``paused``, else ``queued`` (the first such member's progress), and
    ``received`` once none is unfinished and a member has it."""
    shown = views[0].to_json()
    if not ours:
        return shown
    unfinished = [v for v in views if v.state in _UNFINISHED]
    if unfinished:
        first = min(unfinished, key=lambda v: _UNFINISHED.index(v.state))
        shown.update(state=first.state, reason=first.reason, bytes_done=first.bytes_done)
    elif any(v.state == "received" for v in views):
        shown.update(state="received", reason=None, bytes_done=shown["size"])
    shown["transfers"] = [
        {"member": v.contact_id, "id": v.id, "state": v.state, "reason": v.reason,
         "bytes_done": v.bytes_done}
        for v in views
    ]  # fmt: skip
    return shown
