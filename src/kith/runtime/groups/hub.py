"""Groups over the peers' channels: :class:`GroupHub` (docs/groups.md).

The hub runs the pure cores of :mod:`kith.groups` with the store and the chat
peers. Every group frame goes to one member over the pair session with that
member (:meth:`ChatPeer.send_frame`), so the server relays nothing it could
tell from 1:1 traffic. Each frame is first stored in the group outbox under
the member's next sequence number (``Queued``), sent at once if a session is
open, sent again on every new session, and dropped when the member
acknowledges it (``Ack``); ``pending`` makes the chat driver connect when the
member comes online. Each new session also carries the log and our chain of
every group we share (not queued: they are sent on every session anyway).
Inbound frames are handled one at a time, in arrival order, under one lock,
so a group's state, keys and history change in one place.

A sender key or sealed message that arrives before the change or key that makes
sense of it (a new member hears from another member before the admin's log reaches
it) is acknowledged like any frame and stored (``group_held_frames``, so it survives
a restart), then tried again, in arrival order, after each change or key of its group:
at most :data:`MAX_WAITING` per group (the oldest go first, logged ``too_many_held``),
for at most :data:`HELD_FOR` (then dropped, logged ``held_too_long``, at the next one
held, the next try or the next start).

Edits, deletes and reactions are sealed with our chain like posts (every member
applies the same action, under the rules of :func:`kith.groups.content.check_action`);
one that overtakes the message it names (another member's reaction to a post that
has not reached us yet) is stored (``group_held_actions``, so it survives a restart)
and applied when that message arrives: at most :data:`MAX_WAITING` per group (the
oldest go first), for at most :data:`HELD_FOR` (then dropped, at the next one held or
the next start).
A stored post is acknowledged to its author alone with a ``Receipt(delivered)``;
reading it sends a ``Receipt(read)`` where the ``read_receipts`` setting is on.
``Typing`` goes to members with an open session only, throttled like 1:1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, Protocol

from kith.chat.frames import MAX_RECEIPT_IDS
from kith.chat.typing_state import TYPING_TIMEOUT, OwnTyping
from kith.contacts import contact_label
from kith.groups.content import (
    Action,
    Content,
    Delete,
    Edit,
    React,
    Target,
    check_action,
    decode_content,
    encode_content,
)
from kith.groups.errors import (
    GroupError,
    InvalidChange,
    NotAMember,
    RefusedAction,
    ReplayedChange,
    SkippedTooFar,
    StaleChange,
)
from kith.groups.files import GroupFile
from kith.groups.frames import (
    RESEND_NONCE_SIZE,
    Ack,
    Changes,
    GroupFrame,
    Key,
    Post,
    Queued,
    Receipt,
    Resend,
    Sealed,
    Typing,
    decode_group_frame,
    encode_group_frame,
)
from kith.groups.keyring import GroupKeyring
from kith.groups.membership import (
    GROUP_ID_SIZE,
    Applied,
    GroupState,
    Op,
    apply_change,
    create_group,
    decode_change,
    encode_change,
    next_change,
    replay,
)
from kith.groups.sender_keys import (
    SenderKey,
    decode_group_message,
    decode_sender_key,
    encode_group_message,
    encode_sender_key,
)
from kith.models import Contact
from kith.p2p import SecureChannel
from kith.runtime.groups.events import GroupEvent, GroupMessageEvent, GroupTypingEvent
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.store.async_store import AsyncStore
from kith.store.groups import GroupMessageRecord, GroupRecord, ReceiptCount
from kith.store.store import Store
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel

__all__ = ["HELD_FOR", "MAX_WAITING", "GroupFileSink", "GroupHub", "GroupPeer", "Rejection"]

MAX_WAITING: Final = 256
"""Most early keys, messages and actions kept per group until what makes sense of them
arrives."""
HELD_FOR: Final = 7 * 24 * 3600.0
"""Seconds an early key, message or action waits for what makes sense of it."""
MAX_REJECTIONS: Final = 100
MAX_SHOWN_RECEIPTS: Final = 50
"""Most messages one receipt updates on the page (the rest show on the next load)."""


class GroupMailbox(Protocol):
    """The sealed offline mailbox (:class:`kith.runtime.chat.mailbox.MailboxCourier`)."""

    async def deposit(
        self, contact_id: str, pair: PairChannel, frame: bytes, entry_id: str | None = None
    ) -> bool: ...


class GroupFileSink(Protocol):
    """Where a member's post that carries a file goes once stored
    (:class:`kith.runtime.groups.files.GroupFileInbox`: expect the sender's offer)."""

    async def incoming(self, sender_id: str, post: Post) -> None: ...

    async def deleted(self, sender_id: str, message_id: str) -> None: ...


class GroupPeer(Protocol):
    """What the group side needs of a chat peer (:class:`~kith.runtime.chat.peer.ChatPeer`)."""

    contact_id: str

    @property
    def secure(self) -> SecureChannel | None: ...

    @property
    def is_open(self) -> bool: ...

    def send_frame(self, secure: SecureChannel | None, data: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """A member's frame the hub refused: who sent it and the error code (never content)."""

    contact_id: str
    code: str


class GroupHub:
    """Our groups: their state, keys and history, and their frames to and from members.

    Args:
        keys: Our identity keys (we sign changes with them).
        store: The node's store.
        hub: Live events for the local API.
        clock: Wall-clock seconds.
        log: Where refused frames are noted (codes and contact labels only).
        mailbox: The sealed offline mailbox: a queued frame for a member without
            an open session is left there too (none: frames wait for a session).
        pairs: The pair channels (the mailbox topics), with ``mailbox``.
        files: Told of each member's post that carries a file (none: files are ignored).
    """

    def __init__(
        self,
        *,
        keys: IdentityKeys,
        store: AsyncStore,
        hub: EventHub,
        clock: Callable[[], float],
        log: logging.Logger,
        mailbox: GroupMailbox | None = None,
        pairs: PairChannels | None = None,
        files: GroupFileSink | None = None,
    ) -> None:
        self._keys = keys
        self._me = keys.kith_id
        self._store = store
        self._hub = hub
        self._clock = clock
        self._log = log
        self._mailbox = mailbox
        self._pairs = pairs
        self._files = files
        self._lock = asyncio.Lock()
        self._open: dict[str, GroupPeer] = {}
        self._outgoing: list[tuple[str, bytes]] = []
        self._pending: set[str] = set()
        self._retrying: set[bytes] = set()
        self._again: set[bytes] = set()
        self._kept = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._typing: dict[bytes, OwnTyping] = {}
        self._last_post_ms = 0
        self._resyncing: dict[str, bytes] = {}
        self.rejections: deque[Rejection] = deque(maxlen=MAX_REJECTIONS)
        """The latest refused frames (the API shows them)."""

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Hold the hub for one operation; frames it queued are dropped if it fails."""
        async with self._lock:
            try:
                yield
            except BaseException:
                self._outgoing.clear()
                raise

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("group work failed: %s", type(task.exception()).__name__)

    # -- the chat peers' side -------------------------------------------------

    async def load(self) -> None:
        """Learn which members frames wait for (before the first presence news)."""
        self._pending = await self._store.run(lambda s: s.groups.outbox_contacts())
        before = self._clock() - HELD_FOR
        await self._store.run(lambda s: s.groups.expire_held_actions(before))
        self._dropped(await self._store.run(lambda s: s.groups.expire_held_frames(before)), 0)

    def channel_open(self, peer: GroupPeer) -> None:
        """A session was established with a contact: send what waits for them, then
        the log and our chain of every group we share (so a member who missed
        frames converges)."""
        self._open[peer.contact_id] = peer
        self._resyncing.pop(peer.contact_id, None)
        self._spawn(self._greet(peer.contact_id))

    def channel_closed(self, peer: GroupPeer) -> None:
        if self._open.get(peer.contact_id) is peer:
            del self._open[peer.contact_id]

    def pending(self, contact_id: str) -> bool:
        """Whether group frames wait for the contact (connect when they are online)."""
        return contact_id in self._pending

    def waiting_for(self) -> list[str]:
        """Contacts group frames wait for."""
        return sorted(self._pending)

    async def take(self, contact_id: str, plaintext: bytes) -> None:
        """A group frame the contact left in our mailbox (handled when this returns)."""
        await self._receive(contact_id, plaintext)

    def receive(self, peer: GroupPeer, plaintext: bytes) -> None:
        """A group frame from a contact (handled after the ones before it). While we
        wait for their answer to our ``Resend``, their queued frames are dropped: they
        send every one not acknowledged again after the answer, in order."""
        nonce = self._resyncing.get(peer.contact_id)
        if nonce is not None:
            frame = _peek(plaintext)
            if isinstance(frame, Resend) and frame.nonce == nonce:
                del self._resyncing[peer.contact_id]
                return
            if isinstance(frame, Queued):
                return
        self._spawn(self._receive(peer.contact_id, plaintext))

    def resume(self, peer: GroupPeer) -> None:
        """The contact's frames are within its rate limit again after some were dropped:
        ask them to send again what waits for us (a ``Resend``), in order."""
        nonce = os.urandom(RESEND_NONCE_SIZE)
        if self._direct(peer.contact_id, encode_group_frame(Resend(nonce))):
            self._resyncing[peer.contact_id] = nonce

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- what the user does ---------------------------------------------------

    async def create(self, name: str, members: Iterable[str]) -> GroupState:
        """Create a group with us as admin and these contacts as members."""
        ids = list(members)
        async with self._turn():
            await self._check_contacts(ids)
            state, _ = create_group(self._keys, name, ids)
            keyring = GroupKeyring.start(state.group_id, self._me)
            await self._save(state, keyring)
            self._send_log(state, state.members)
            self._send_key(keyring, state.members)
            await self._post()
            return state

    async def change(
        self, group_id: bytes, op: Op, *, subject: str | None = None, name: str = ""
    ) -> GroupState:
        """Sign and apply a change of ours (add, remove, promote, rename, leave)."""
        async with self._turn():
            record = await self._record(group_id)
            if not record.active:
                raise InvalidChange("we are no longer a member of this group")
            if op == "add" and subject is not None:
                await self._check_contacts([subject])
            applied, _ = next_change(record.state, self._keys, op, subject=subject, name=name)
            keyring = await self._store.run(lambda s: s.groups.keyring(group_id))
            assert keyring is not None
            # everyone who was or is a member learns the change (a removed member: that it is out)
            self._send_log(applied.state, [*applied.state.members, *applied.removed])
            if applied.state.is_member(self._me):
                await self._follow(applied, keyring)
            else:  # we left: the others rotate, we keep what we had
                await self._save_inactive(applied.state)
            await self._post()
            return applied.state

    async def send(
        self,
        group_id: bytes,
        text: str,
        *,
        file: GroupFile | None = None,
        message_id: str | None = None,
    ) -> tuple[GroupMessageRecord, bytes]:
        """Seal ``text`` (with ``file``: the file it carries, whose bytes go pairwise,
        :mod:`kith.runtime.groups.files`) with our chain and send it to every other
        member; return the stored message and the sealed message as it went on the wire."""
        async with self._turn():
            record = await self._record(group_id)
            now = self._clock()
            post = Post(message_id or os.urandom(16).hex(), text, self._post_ms(now), file)
            message = GroupMessageRecord(group_id, post.id, self._me, text, post.sent_at, now)
            wire = await self._seal(record, post, now, lambda s: s.groups.add_message(message))
            others = len(record.state.members) - 1
            message = replace(message, receipts=ReceiptCount(0, 0, others))
            self._hub.publish(GroupMessageEvent(message.to_json()))
            await self._post()
            return message, wire

    def _post_ms(self, now: float) -> int:
        """The time a new post carries: later than our previous post's, even in the
        same millisecond. Every member lists a group by (time, ID), and IDs are
        random, so two posts sharing a millisecond came out in either order."""
        self._last_post_ms = max(int(now * 1000), self._last_post_ms + 1)
        return self._last_post_ms

    async def edit(self, group_id: bytes, message_id: str, text: str) -> GroupMessageRecord:
        """Replace the text of our own message, for every member."""
        return await self._act(group_id, Edit(message_id, text, int(self._clock() * 1000)))

    async def delete(self, group_id: bytes, message_id: str) -> GroupMessageRecord:
        """Delete our own message (its text and reactions), for every member."""
        return await self._act(group_id, Delete(message_id, int(self._clock() * 1000)))

    async def react(
        self, group_id: bytes, message_id: str, emoji: str, *, add: bool
    ) -> GroupMessageRecord:
        """Add or remove our reaction on a message, for every member."""
        return await self._act(group_id, React(message_id, emoji, "add" if add else "remove"))

    async def _act(self, group_id: bytes, action: Action) -> GroupMessageRecord:
        decode_content(encode_content(action))  # the bounds a member will check
        async with self._turn():
            record = await self._record(group_id)
            target = await self._store.run(lambda s: s.groups.message(group_id, action.target))
            _check(action, self._me, target)
            now = self._clock()
            await self._seal(record, action, now, _apply(group_id, self._me, action))
            changed = await self._store.run(lambda s: s.groups.message(group_id, action.target))
            assert changed is not None
            if isinstance(action, Delete) and self._files is not None:
                await self._files.deleted(self._me, action.target)
            shown = (await self._counted(record.state, [changed]))[0]
            self._hub.publish(GroupMessageEvent(shown.to_json()))
            await self._post()
            return shown

    async def _seal(
        self, record: GroupRecord, content: Content, now: float, change: Callable[[Store], Any]
    ) -> bytes:
        """Seal ``content`` with our chain, store the chain with ``change`` and queue the
        sealed message for every other member; return it as it goes on the wire."""
        group_id = record.state.group_id
        if not record.active:
            raise InvalidChange("we are no longer a member of this group")
        keyring = await self._store.run(lambda s: s.groups.keyring(group_id))
        assert keyring is not None
        keyring, sealed = keyring.seal(encode_content(content))

        def write(store: Store) -> None:
            with store.transaction():
                store.groups.save_keyring(group_id, keyring, now=now)
                change(store)

        await self._store.run(write)
        wire = encode_group_message(sealed)
        frame = encode_group_frame(Sealed(wire))
        for member in record.state.members:
            if member != self._me:
                self._enqueue(member, frame)
        return wire

    async def mark_read(self, group_id: bytes, ids: Iterable[str]) -> list[str]:
        """We read these messages of other members: note it, and tell each author
        where the ``read_receipts`` setting is on; return the IDs newly read."""
        wanted = list(dict.fromkeys(ids))
        async with self._turn():
            record = await self._record(group_id)
            now = self._clock()

            def write(store: Store) -> tuple[dict[str, list[str]], bool]:
                with store.transaction():
                    fresh = store.groups.unread(group_id, self._me, wanted)
                    by_author: dict[str, list[str]] = {}
                    for message in (store.groups.message(group_id, i) for i in fresh):
                        if message is not None:
                            by_author.setdefault(message.sender_id, []).append(message.id)
                    for author, mids in by_author.items():
                        store.groups.record_receipt(
                            group_id, author, self._me, mids, read=True, now=now
                        )
                    return by_author, store.settings.get("read_receipts") is True

            by_author, tell = await self._store.run(write)
            if tell and record.active:
                for author, mids in by_author.items():
                    if record.state.is_member(author):
                        self._send_receipt(group_id, author, "read", mids)
            await self._post()
            return [i for mids in by_author.values() for i in mids]

    async def typing(self, group_id: bytes, active: bool) -> int:
        """We started or stopped typing in a group: tell the members with an open
        session (throttled as 1:1; never queued); return how many were told."""
        record = await self._record(group_id)
        throttle = self._typing.setdefault(group_id, OwnTyping())
        if not record.active or not throttle.should_send(active, self._clock()):
            return 0
        frame = encode_group_frame(Typing(group_id, active))
        return sum(self._direct(m, frame) for m in record.state.members if m != self._me)

    async def accept_sealed(self, from_id: str, sealed: bytes) -> None:
        """Handle a sealed message as if ``from_id`` sent it (it must open, or raise)."""
        async with self._turn():
            await self._on_sealed(from_id, Sealed(sealed), wait=False)

    async def groups(self) -> list[GroupRecord]:
        return await self._store.run(lambda s: s.groups.list())

    async def details(self, group_id: bytes) -> dict[str, Any]:
        """The group as the API shows it, each member with what we know of them as a
        contact (name, verified, presence: contacts only; ``you`` for us)."""
        record = await self._record(group_id)
        members = list(record.state.members)

        def contacts(store: Store) -> dict[str, Contact | None]:
            return {m: store.contacts.find(m) for m in members}

        found = await self._store.run(contacts)
        shown = record.to_json()
        for member in shown["members"]:
            contact = found.get(member["id"])
            member["you"] = member["id"] == self._me
            if contact is not None:
                member.update(
                    name=contact.display_name, verified=contact.verified, status=contact.status
                )
        return shown

    async def change_times(self, group_id: bytes) -> dict[int, float]:
        """When this node applied each of the group's changes, by version."""
        return await self._store.run(lambda s: s.groups.change_times(group_id))

    async def messages(
        self, group_id: bytes, limit: int = 200, before: str | None = None
    ) -> list[GroupMessageRecord]:
        """The latest messages (before message ``before``, if given), ours with how many
        other members have and read them."""
        record = await self._record(group_id)

        def read(store: Store) -> list[GroupMessageRecord] | None:
            if before is not None and store.groups.message(group_id, before) is None:
                return None
            return store.groups.messages(group_id, limit=limit, before=before)

        found = await self._store.run(read)
        if found is None:
            raise RefusedAction("no such message in this group", code="unknown_message")
        return await self._counted(record.state, found)

    async def _counted(
        self, state: GroupState, messages: list[GroupMessageRecord]
    ) -> list[GroupMessageRecord]:
        """``messages`` with receipt counts on ours, against the current other members."""
        others = [m for m in state.members if m != self._me]
        own = [m.id for m in messages if m.sender_id == self._me]
        gid = state.group_id
        counts = await self._store.run(lambda s: s.groups.receipt_counts(gid, own, others))
        out = []
        for m in messages:
            if m.sender_id == self._me:
                delivered, read = counts.get(m.id, (0, 0))
                m = replace(m, receipts=ReceiptCount(delivered, read, len(others)))
            out.append(m)
        return out

    async def resolve(self, name: str) -> list[bytes]:
        """IDs of the groups named ``name`` or whose ID (hex) it is."""
        if len(name) == 2 * GROUP_ID_SIZE:
            try:
                gid = bytes.fromhex(name)
            except ValueError:
                pass
            else:
                if await self._store.run(lambda s: s.groups.get(gid)) is not None:
                    return [gid]
        return await self._store.run(lambda s: s.groups.ids_named(name))

    async def _greet(self, contact_id: str) -> None:
        async with self._turn():
            for seq, frame in await self._store.run(lambda s: s.groups.outbox(contact_id)):
                self._direct(contact_id, encode_group_frame(Queued(seq, frame)))
            records = await self._store.run(lambda s: s.groups.list())
            for record in records:
                if not record.active or not record.state.is_member(contact_id):
                    continue
                keyring = await self._store.run(_keyring_of(record.state.group_id))
                log = [encode_change(c) for c in record.state.log]
                self._direct(contact_id, encode_group_frame(Changes(log)))
                if keyring is not None:
                    key = encode_sender_key(keyring.own.sender_key())
                    self._direct(contact_id, encode_group_frame(Key(key)))

    # -- frames from members --------------------------------------------------

    async def _receive(self, from_id: str, plaintext: bytes) -> None:
        async with self._turn():
            try:
                frame = decode_group_frame(plaintext)
                if isinstance(frame, Ack):
                    await self._on_ack(from_id, frame.seq)
                elif isinstance(frame, Queued):
                    await self._on_queued(from_id, frame)
                elif isinstance(frame, Typing):
                    await self._on_typing(from_id, frame)
                elif isinstance(frame, Resend):
                    await self._on_resend(from_id, frame)
                else:
                    await self._handle(from_id, frame)
            except GroupError as exc:
                self._reject(from_id, exc)
            await self._post()

    async def _handle(self, from_id: str, frame: GroupFrame) -> None:
        if isinstance(frame, Changes):
            await self._on_changes(from_id, frame)
        elif isinstance(frame, Key):
            await self._on_key(from_id, frame)
        elif isinstance(frame, Sealed):
            await self._on_sealed(from_id, frame)
        elif isinstance(frame, Receipt):
            await self._on_receipt(from_id, frame)
        else:
            raise InvalidChange("a frame that is never queued, queued")

    async def _on_queued(self, from_id: str, frame: Queued) -> None:
        """Handle frame ``seq`` of the member's queue for us and acknowledge it (a
        refused frame too: sending it again would not change the answer)."""
        try:
            await self._handle(from_id, decode_group_frame(frame.frame))
        except SkippedTooFar as exc:
            if "opened already" not in exc.message:
                self._reject(from_id, exc)  # else: sent again before our ack reached them
        except GroupError as exc:
            self._reject(from_id, exc)
        self._direct(from_id, encode_group_frame(Ack(frame.seq)))

    async def _on_resend(self, from_id: str, frame: Resend) -> None:
        """The member dropped frames of ours over its rate limit: answer, then send it
        again every frame still queued for it, in order (after the answer)."""
        if not self._direct(from_id, encode_group_frame(frame)):
            return  # no session: the next one sends them all
        for seq, queued in await self._store.run(lambda s: s.groups.outbox(from_id)):
            self._direct(from_id, encode_group_frame(Queued(seq, queued)))

    async def _on_ack(self, from_id: str, seq: int) -> None:
        more = await self._store.run(lambda s: s.groups.outbox_ack(from_id, seq))
        if not more:
            self._pending.discard(from_id)

    def _reject(self, from_id: str, exc: GroupError) -> None:
        self.rejections.append(Rejection(from_id, exc.code))
        self._log.warning("refused a group frame from %s (%s)", contact_label(from_id), exc.code)

    async def _on_changes(self, from_id: str, frame: Changes) -> None:
        changes = [decode_change(data) for data in frame.log]
        gid = changes[0].group_id
        record = await self._store.run(lambda s: s.groups.get(gid))
        if record is None:
            state = replay(changes)
            if not state.is_member(from_id):
                raise NotAMember("a group log from someone who is not a member")
            if not state.is_member(self._me):
                return  # a log of a group we are not in (any more)
            keyring = GroupKeyring.start(gid, self._me)
            await self._save(state, keyring)
            self._send_key(keyring, state.members)
            await self._retry(gid)
            return
        state, start = record.state, record.state
        if not start.is_member(from_id):
            raise NotAMember("a group change from someone who is not a member")
        removed: set[str] = set()
        for change in changes[state.version - 1 :]:
            try:
                step = apply_change(state, change)
            except ReplayedChange:
                continue
            except StaleChange:
                self._send_log(state, [from_id])  # theirs lost to ours: show them ours
                break
            state = step.state
            removed |= step.removed
            if any(c.author == self._me for c in step.dropped):
                self._log.info("a concurrent change by another admin won over ours")
        # against where we started (a change of ours undone by a concurrent one counts too)
        added = set(state.members) - set(start.members)
        removed |= set(start.members) - set(state.members)
        if state.version == start.version and state.head == start.head:
            return
        if not state.is_member(self._me):
            await self._save_inactive(state)
            return
        held = await self._store.run(lambda s: s.groups.keyring(gid))
        if held is None or not record.active:  # we were out and are back
            fresh = GroupKeyring.start(gid, self._me)
            await self._save(state, fresh)
            self._send_key(fresh, state.members)
        else:
            await self._follow(Applied(state, frozenset(added), frozenset(removed)), held)
        await self._retry(gid)

    async def _on_key(self, from_id: str, frame: Key) -> None:
        key = decode_sender_key(frame.sender_key)
        record = await self._store.run(lambda s: s.groups.get(key.group_id))
        keyring = await self._store.run(lambda s: s.groups.keyring(key.group_id))
        if record is None or keyring is None or not record.state.is_member(from_id):
            if key.sender_id == from_id:
                await self._hold_frame(key.group_id, from_id, frame)
                return
            raise NotAMember("a sender key for a group we do not share with its sender")
        keyring = keyring.accept(record.state, key, from_id)
        await self._store.run(
            lambda s: s.groups.save_keyring(key.group_id, keyring, now=self._clock())
        )
        await self._retry(key.group_id)

    async def _on_sealed(self, from_id: str, frame: Sealed, *, wait: bool = True) -> None:
        message = decode_group_message(frame.message)
        if message.sender_id != from_id:
            raise NotAMember("a group message is sent by its author only")
        gid = message.group_id
        record = await self._store.run(lambda s: s.groups.get(gid))
        keyring = await self._store.run(lambda s: s.groups.keyring(gid))
        if record is None or keyring is None or not record.active:
            if wait and record is None:
                await self._hold_frame(gid, from_id, frame)
                return
            raise NotAMember("a message for a group we are not in")
        if wait and (message.sender_id, message.chain_id) not in keyring.peers:
            await self._hold_frame(gid, from_id, frame)  # its key is on its way
            return
        keyring, plaintext = keyring.open(record.state, message)
        now = self._clock()
        content = decode_content(plaintext)  # refused: the chain is not stored (as before)

        released: list[tuple[str, GroupMessageRecord | RefusedAction]] = []

        def write(store: Store) -> GroupMessageRecord | GroupError | None:
            """Store the chain and the content's effect; the message to show, or why
            the content was refused (the chain is kept either way)."""
            with store.transaction():
                store.groups.save_keyring(gid, keyring, now=now)
                if isinstance(content, Post):
                    stored = GroupMessageRecord(
                        gid, content.id, from_id, content.text, content.sent_at, now
                    )
                    added = store.groups.add_message(stored)
                    # What waited for this message lands in the same transaction.
                    released.extend(_release_held(store, gid, content.id, now - HELD_FOR))
                    if any(not isinstance(r, RefusedAction) for _, r in released):
                        return store.groups.message(gid, content.id)
                    return stored if added else None
                try:
                    _check(content, from_id, store.groups.message(gid, content.target))
                except RefusedAction as exc:
                    if exc.code == "unknown_message":  # it may come from another member yet
                        _hold(store, gid, from_id, content, now)
                        return None
                    return exc
                _apply(gid, from_id, content)(store)
                return store.groups.message(gid, content.target)

        shown = await self._store.run(write)
        if isinstance(shown, GroupError):
            raise shown
        if shown is not None:
            shown = (await self._counted(record.state, [shown]))[0]
            self._hub.publish(GroupMessageEvent(shown.to_json()))
        if isinstance(content, Delete) and self._files is not None:
            await self._files.deleted(from_id, content.target)
        for held_from, result in released:
            if isinstance(result, RefusedAction):
                self._reject(held_from, result)
        if isinstance(content, Post):
            self._send_receipt(gid, from_id, "delivered", [content.id])
            if content.file is not None and shown is not None and self._files is not None:
                await self._files.incoming(from_id, content)

    async def _on_receipt(self, from_id: str, frame: Receipt) -> None:
        """A member has or read messages of ours (other IDs are ignored)."""
        gid = frame.group
        record = await self._store.run(lambda s: s.groups.get(gid))
        if record is None or not record.state.is_member(from_id):
            raise NotAMember("a receipt from someone who is not a member")
        now, read = self._clock(), frame.kind == "read"

        def write(store: Store) -> list[GroupMessageRecord]:
            with store.transaction():
                store.groups.record_receipt(gid, self._me, from_id, frame.ids, read=read, now=now)
            found = (store.groups.message(gid, i) for i in frame.ids[:MAX_SHOWN_RECEIPTS])
            return [m for m in found if m is not None and m.sender_id == self._me]

        changed = await self._store.run(write)
        for message in await self._counted(record.state, changed):
            self._hub.publish(GroupMessageEvent(message.to_json()))

    async def _on_typing(self, from_id: str, frame: Typing) -> None:
        record = await self._store.run(lambda s: s.groups.get(frame.group))
        if record is None or not record.active or not record.state.is_member(from_id):
            raise NotAMember("typing from someone who is not a member")
        self._hub.publish(
            GroupTypingEvent(frame.group.hex(), from_id, frame.active, TYPING_TIMEOUT)
        )

    def _send_receipt(
        self, group_id: bytes, author: str, kind: Literal["delivered", "read"], ids: list[str]
    ) -> None:
        for start in range(0, len(ids), MAX_RECEIPT_IDS):
            chunk = ids[start : start + MAX_RECEIPT_IDS]
            self._enqueue(author, encode_group_frame(Receipt(group_id, kind, chunk)))

    async def _hold_frame(self, group_id: bytes, from_id: str, frame: Key | Sealed) -> None:
        """Store an early key or message until what it needs arrives (:meth:`_retry`);
        while :meth:`_retry` tries it, it just stays where it is."""
        if group_id in self._retrying:
            self._kept = True
            return
        now, data = self._clock(), encode_group_frame(frame)

        def write(store: Store) -> tuple[int, int]:
            with store.transaction():
                return store.groups.hold_frame(
                    group_id, from_id, data, now=now, keep=MAX_WAITING, since=now - HELD_FOR
                )

        old, over = await self._store.run(write)
        self._log.debug("holding a group frame from %s until what it needs", contact_label(from_id))
        self._dropped(old, over)

    def _dropped(self, old: int, over: int) -> None:
        if old:
            self._log.warning("dropped %d early group frames (held_too_long)", old)
        if over:
            self._log.warning("dropped %d early group frames (too_many_held)", over)

    async def _retry(self, group_id: bytes) -> None:
        """Try the keys and messages held for this group again, in arrival order: one
        that applies now or is refused leaves the store, one still early stays. A key
        accepted on the way may open a message held before it: then go round again."""
        if group_id in self._retrying:  # a key accepted while we try them
            self._again.add(group_id)
            return
        self._retrying.add(group_id)
        before = self._clock() - HELD_FOR

        def read(store: Store) -> tuple[int, list[tuple[int, str, bytes]]]:
            return store.groups.expire_held_frames(before), store.groups.held_frames(group_id)

        try:
            again = True
            while again:
                self._again.discard(group_id)
                old, held = await self._store.run(read)
                self._dropped(old, 0)
                for row, from_id, data in held:
                    await self._try_held(from_id, data)
                    if not self._kept:
                        await self._store.run(_drop_held(row))
                again = group_id in self._again
        finally:
            self._retrying.discard(group_id)
            self._again.discard(group_id)

    async def _try_held(self, from_id: str, data: bytes) -> None:
        """Handle a held frame again (``_kept``: it is still early)."""
        self._kept = False
        try:
            frame = decode_group_frame(data)
            if isinstance(frame, Key):
                await self._on_key(from_id, frame)
            elif isinstance(frame, Sealed):
                await self._on_sealed(from_id, frame)
        except SkippedTooFar as exc:
            if "opened already" not in exc.message:  # else: held twice (a lost ack)
                self._reject(from_id, exc)
        except GroupError as exc:
            self._reject(from_id, exc)

    # -- helpers --------------------------------------------------------------

    async def _follow(self, applied: Applied, keyring: GroupKeyring) -> None:
        """Store a new state and move our keys with it: a new chain for everyone
        after a removal, our current chain to each added member."""
        state = applied.state
        keyring, rotated = keyring.after_change(applied)
        await self._save(state, keyring)
        if rotated:
            self._send_key(keyring, state.members)
        elif applied.added:
            self._send_key(keyring, applied.added)

    async def _save(self, state: GroupState, keyring: GroupKeyring) -> None:
        now = self._clock()

        def write(store: Store) -> None:
            with store.transaction():
                store.groups.save(state, active=True, now=now)
                store.groups.save_keyring(state.group_id, keyring, now=now)

        await self._store.run(write)
        self._hub.publish(GroupEvent(GroupRecord(state, True, now).to_json()))

    async def _save_inactive(self, state: GroupState) -> None:
        """Keep a group we are no longer in (its history stays readable)."""
        now = self._clock()
        await self._store.run(lambda s: s.groups.save(state, active=False, now=now))
        self._hub.publish(GroupEvent(GroupRecord(state, False, now).to_json()))

    async def _record(self, group_id: bytes) -> GroupRecord:
        record = await self._store.run(lambda s: s.groups.get(group_id))
        if record is None:
            raise InvalidChange("no such group", code="unknown_group")
        return record

    async def _check_contacts(self, ids: Iterable[str]) -> None:
        wanted = [i for i in ids if i != self._me]

        def missing(store: Store) -> list[str]:
            return [i for i in wanted if store.contacts.find(i) is None]

        unknown = await self._store.run(missing)
        if unknown:
            raise InvalidChange(
                "only contacts can be group members (an invite for strangers comes later)",
                code="not_a_contact",
            )

    def _send_log(self, state: GroupState, to: Iterable[str]) -> None:
        frame = encode_group_frame(Changes([encode_change(c) for c in state.log]))
        for member in dict.fromkeys(to):
            if member != self._me:
                self._enqueue(member, frame)

    def _send_key(self, keyring: GroupKeyring, to: Iterable[str]) -> None:
        key: SenderKey = keyring.own.sender_key()
        frame = encode_group_frame(Key(encode_sender_key(key)))
        for member in to:
            if member != self._me:
                self._enqueue(member, frame)

    def _enqueue(self, contact_id: str, frame: bytes) -> None:
        """Queue a frame for a member (stored and sent by :meth:`_post`)."""
        self._outgoing.append((contact_id, frame))

    async def _post(self) -> None:
        """Store the queued frames under each member's next numbers, then send them."""
        items, self._outgoing = self._outgoing, []
        if not items:
            return
        rows = await self._store.run(lambda s: _put(s, items))
        absent: list[tuple[str, int, bytes]] = []
        for contact_id, seq, frame in rows:
            self._pending.add(contact_id)
            queued = encode_group_frame(Queued(seq, frame))
            if not self._direct(contact_id, queued):
                absent.append((contact_id, seq, queued))
        if absent and self._mailbox is not None:
            self._spawn(self._deposit(absent))

    async def _deposit(self, rows: list[tuple[str, int, bytes]]) -> None:
        """Leave frames for members without an open session in their mailboxes, in
        order (still queued here: a session sends them again until acknowledged)."""
        assert self._mailbox is not None
        assert self._pairs is not None
        for contact_id, seq, queued in rows:
            contact = await self._store.run(_contact(contact_id))
            pair = None if contact is None else self._pairs.channel(contact)
            if pair is not None:
                await self._mailbox.deposit(contact_id, pair, queued, f"group:{seq}")

    def _direct(self, contact_id: str, frame: bytes) -> bool:
        """Send a frame now if a session with the member is open; whether it was."""
        peer = self._open.get(contact_id)
        if peer is None or not peer.is_open:
            return False
        peer.send_frame(peer.secure, frame)
        return True


def _peek(plaintext: bytes) -> GroupFrame | None:
    """The frame, or None if it is malformed (the hub refuses it in turn)."""
    try:
        return decode_group_frame(plaintext)
    except GroupError:
        return None


def _check(action: Action, sender_id: str, target: GroupMessageRecord | None) -> None:
    shown = None if target is None else Target(target.sender_id, target.deleted)
    check_action(action, sender_id, shown)


def _hold(store: Store, group_id: bytes, sender_id: str, action: Action, now: float) -> None:
    """Keep an action on a message not held yet (:func:`_release_held` applies it)."""
    data = encode_content(action)
    store.groups.hold_action(group_id, action.target, sender_id, data, now=now, keep=MAX_WAITING)


def _release_held(
    store: Store, group_id: bytes, message_id: str, since: float
) -> list[tuple[str, GroupMessageRecord | RefusedAction]]:
    """Apply the actions held for a message just stored, in arrival order, inside
    the caller's transaction (each checked as if it came now; a refused one is
    returned to be noted, and dropped)."""
    out: list[tuple[str, GroupMessageRecord | RefusedAction]] = []
    for from_id, data in store.groups.take_held_actions(group_id, message_id, since=since):
        action = decode_content(data)
        if isinstance(action, Post):
            continue  # never held
        try:
            _check(action, from_id, store.groups.message(group_id, action.target))
        except RefusedAction as exc:
            out.append((from_id, exc))
            continue
        _apply(group_id, from_id, action)(store)
        found = store.groups.message(group_id, action.target)
        assert found is not None
        out.append((from_id, found))
    return out


def _apply(group_id: bytes, sender_id: str, action: Action) -> Callable[[Store], None]:
    """The store write of an allowed action."""

    def write(store: Store) -> None:
        if isinstance(action, Edit):
            store.groups.edit_message(group_id, action.target, action.text, action.edited_at)
        elif isinstance(action, Delete):
            store.groups.delete_message(group_id, action.target)
        else:
            add = action.action == "add"
            store.groups.react(group_id, action.target, sender_id, action.emoji, add=add)

    return write


def _put(store: Store, items: list[tuple[str, bytes]]) -> list[tuple[str, int, bytes]]:
    with store.transaction():
        return store.groups.outbox_put(items)


def _keyring_of(group_id: bytes) -> Callable[[Store], GroupKeyring | None]:
    return lambda store: store.groups.keyring(group_id)


def _drop_held(frame_id: int) -> Callable[[Store], None]:
    return lambda store: store.groups.drop_held_frame(frame_id)


def _contact(contact_id: str) -> Callable[[Store], Contact | None]:
    return lambda store: store.contacts.find(contact_id)
