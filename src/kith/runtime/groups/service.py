"""The group operations of the local API: :class:`GroupService`.

Each operation runs on the :class:`~kith.runtime.groups.hub.GroupHub`, then
asks the chat driver to connect to every online member frames wait for (an
offline member gets them when a session next opens).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kith.errors import KithError
from kith.groups.membership import GroupState, Op
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.groups.hub import GroupHub, Rejection
from kith.store.groups import GroupMessageRecord, GroupRecord

__all__ = ["GroupService"]


class GroupService:
    """Create, change, list and message groups."""

    def __init__(self, hub: GroupHub, chat: ChatDriver) -> None:
        self._hub = hub
        self._chat = chat

    async def create(self, name: str, members: Sequence[str]) -> GroupState:
        state = await self._hub.create(name, members)
        self._connect()
        return state

    async def change(
        self, group_id: bytes, op: Op, *, subject: str | None = None, name: str = ""
    ) -> GroupState:
        state = await self._hub.change(group_id, op, subject=subject, name=name)
        self._connect()
        return state

    async def send(self, group_id: bytes, text: str) -> tuple[GroupMessageRecord, bytes]:
        sent = await self._hub.send(group_id, text)
        self._connect()
        return sent

    async def edit(self, group_id: bytes, message_id: str, text: str) -> GroupMessageRecord:
        message = await self._hub.edit(group_id, message_id, text)
        self._connect()
        return message

    async def delete(self, group_id: bytes, message_id: str) -> GroupMessageRecord:
        message = await self._hub.delete(group_id, message_id)
        self._connect()
        return message

    async def react(
        self, group_id: bytes, message_id: str, emoji: str, *, add: bool
    ) -> GroupMessageRecord:
        message = await self._hub.react(group_id, message_id, emoji, add=add)
        self._connect()
        return message

    async def mark_read(self, group_id: bytes, ids: Sequence[str]) -> list[str]:
        read = await self._hub.mark_read(group_id, ids)
        self._connect()
        return read

    async def typing(self, group_id: bytes, active: bool) -> int:
        return await self._hub.typing(group_id, active)

    async def accept_sealed(self, from_id: str, sealed: bytes) -> None:
        await self._hub.accept_sealed(from_id, sealed)

    async def groups(self) -> list[GroupRecord]:
        return await self._hub.groups()

    async def details(self, group_id: bytes) -> dict[str, Any]:
        """The group with its members and ``changes``: every membership change from
        ``create`` on (author, op, subjects, name, and ``applied_at``: when this node
        applied it, seconds, or null if it predates that record), for the page's system
        lines."""
        shown = await self._hub.details(group_id)
        records = await self._hub.groups()
        log = next((r.state.log for r in records if r.state.group_id == group_id), ())
        times = await self._hub.change_times(group_id)
        shown["changes"] = [
            {
                "version": c.version,
                "author": c.author,
                "op": c.op,
                "subjects": list(c.subjects),
                "name": c.name,
                "applied_at": times.get(c.version),
            }
            for c in log
        ]
        return shown

    async def messages(
        self, group_id: bytes, limit: int = 200, before: str | None = None
    ) -> list[GroupMessageRecord]:
        return await self._hub.messages(group_id, limit, before)

    async def resolve(self, name: str) -> list[bytes]:
        return await self._hub.resolve(name)

    def rejections(self) -> list[Rejection]:
        return list(self._hub.rejections)

    def _connect(self) -> None:
        for contact_id in self._hub.waiting_for():
            try:
                peer = self._chat.peer(contact_id)
            except KithError:
                continue
            if peer.online and not peer.is_open:
                self._chat.connect(peer)
