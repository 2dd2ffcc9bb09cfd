"""The node: the one place that wires Kith's components together.

:meth:`Node.start` opens the store, restores identity, settings and contacts,
builds every component in dependency order (:func:`_build`), serves the
local API and writes the runtime file; :meth:`Node.stop` undoes it in
reverse, appearing offline to contacts first. Everything else receives its
collaborators from here; no component is handed another after construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Final

from kith.api.access import SESSION_IDLE_TIMEOUT, AccessPolicy
from kith.api.account_routes import AccountAccess
from kith.api.server import ApiServer
from kith.chat import INBOUND_BURST, INBOUND_RATE
from kith.datadir import DataDir
from kith.errors import KithError
from kith.models import Contact
from kith.passphrases import PassphraseSource
from kith.presence import ConnectionState, OwnStatus, PresenceManager
from kith.runtime.calls.service import CallService
from kith.runtime.calls.switchboard import CallSwitchboard
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.link_factory import ChatOptions
from kith.runtime.chat.mailbox import MailboxCourier
from kith.runtime.chat.mailbox_keyring import MailboxKeyring
from kith.runtime.dispatch import Dispatcher, EventBus
from kith.runtime.files import FileService, FileTransfers
from kith.runtime.files.transfers import FILE_SPACE_MARGIN
from kith.runtime.groups.files import GroupFileInbox, GroupFiles
from kith.runtime.groups.hub import GroupHub
from kith.runtime.groups.service import GroupService
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.runtime.presence.driver import PresenceDriver
from kith.runtime.requests import ContactRequests
from kith.runtime.runtime_file import RuntimeInfo, new_token, remove_runtime, write_runtime
from kith.runtime.service import NodeService
from kith.runtime.signal_pump import SignalPump
from kith.runtime.store_writer import StoreWriter
from kith.runtime.subscriptions import SubscriptionMux
from kith.signaling import BackoffPolicy, SignalingClient, SignalingError
from kith.store.async_store import AsyncStore
from kith.store.call_log import CallRecord
from kith.store.file_vault import VAULT_DIR
from kith.store.state import PRESENCE_SEQ
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

__all__ = ["Node", "NodeOptions"]

DRAIN_TIMEOUT: Final = 2.0
RECONNECT_BASE: Final = 0.5
"""Bound of the first wait before reaching the signaling server again, in seconds."""


@dataclass(frozen=True)
class NodeOptions:
    """How to run the node (defaults suit users; tests shorten the heartbeats).

    Attributes:
        heartbeat_interval: Seconds between pings to the signaling server.
        heartbeat_timeout: Seconds without a pong before reconnecting.
        api_host: Loopback address of the local API.
        api_port: Port of the local API; 0 picks a free one; ``None`` (the default)
            takes the ``ui_port`` setting, remembers the first port chosen there,
            and falls back to a free port when that one is taken.
        session_idle_timeout: Seconds without a request after which a
            browser session of the UI ends.
        mailbox_poll: Seconds between fetches of the mailboxes of contacts
            who look offline (``docs/p2p.md``, "Offline mailbox").
        file_reserve: Free disk bytes a received file must leave (``docs/files.md``).
        reconnect_max: Longest wait, in seconds, between attempts to reach the
            signaling server while it is unreachable (each wait is drawn at random
            up to a bound that doubles from 0.5 s to this).
    """

    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 10.0
    api_host: str = "127.0.0.1"
    api_port: int | None = None
    chat_idle_timeout: float = 300.0
    session_idle_timeout: float = SESSION_IDLE_TIMEOUT
    inbound_rate: float = INBOUND_RATE
    inbound_burst: int = INBOUND_BURST
    mailbox_poll: float = 60.0
    file_reserve: int = FILE_SPACE_MARGIN
    reconnect_max: float = 30.0


@dataclass(frozen=True)
class _Loaded:
    keys: IdentityKeys
    status: str
    text: str
    auto_away_minutes: int
    signaling_url: str
    contacts: list[Contact]
    last_seq: int
    stun_servers: tuple[str, ...] = ()
    presence_seqs: dict[str, int] = field(default_factory=dict)
    read_receipts: bool = False
    relay_only: bool = False
    invalid_settings: tuple[str, ...] = ()
    name: str = ""
    call_notices: tuple[CallRecord, ...] = ()


def _load(store: Store) -> _Loaded:
    """Read what the node starts from.

    The node starts disconnected, knowing nobody online; contacts a crashed
    run left online are marked offline (their ``last_seen`` is kept) so the
    store agrees with the presence manager. A setting whose stored value is
    invalid reads as its default (named in ``invalid_settings``).
    """
    settings = store.settings
    with store.transaction():
        for contact in store.contacts.list():
            if contact.status != "offline":
                store.contacts.update_presence(contact.kith_id, "offline", "", None)
    return _Loaded(
        keys=store.identity.keys(),
        status=str(settings.get("user_status")),
        text=str(settings.get("status_text")),
        auto_away_minutes=_int(settings.get("auto_away_minutes")),
        signaling_url=str(settings.get("signaling_url")),
        contacts=store.contacts.list(),
        last_seq=store.state.get_int(PRESENCE_SEQ),
        presence_seqs=store.contacts.presence_seqs(),
        stun_servers=tuple(str(u) for u in _list(settings.get("stun_servers"))),
        read_receipts=settings.get("read_receipts") is True,
        relay_only=settings.get("relay_only") is True,
        invalid_settings=tuple(settings.invalid()),
        name=store.identity.info().name,
        call_notices=tuple(store.call_log.notices()),
    )


def _warn_invalid_settings(loaded: _Loaded, log: logging.Logger) -> None:
    for key in loaded.invalid_settings:
        log.warning(
            "the stored value of setting %s is invalid: using its default "
            "(`kith settings set %s VALUE` or `kith settings reset %s` replaces it)",
            key,
            key,
            key,
        )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class _Parts:
    """The node's components, built by :func:`_build` in dependency order."""

    client: SignalingClient
    presence: PresenceDriver
    chat: ChatDriver
    dispatcher: Dispatcher
    pump: SignalPump
    writer: StoreWriter
    hub: EventHub
    requests: ContactRequests
    files: FileTransfers
    calls: CallSwitchboard
    call_service: CallService
    groups: GroupHub
    group_service: GroupService
    group_files: GroupFiles


def _build(
    loaded: _Loaded, options: NodeOptions, store: AsyncStore, log: logging.Logger, data_dir: DataDir
) -> _Parts:
    """Build every component, each from the ones before it.

    The event bus comes first: presence and chat emit on it and never hold
    each other; the dispatcher, built last, delivers what they emit (see
    :mod:`kith.runtime.dispatch`).
    """
    client = _client(loaded, options)
    bus, hub, writer = EventBus(), EventHub(), StoreWriter(store, log)
    requests = ContactRequests(
        keys=loaded.keys,
        name=loaded.name,
        store=store,
        signaling=client,
        hub=hub,
        clock=time.time,
        log=log,
    )
    subscriptions = SubscriptionMux(client, always=[requests.topic])
    pairs = PairChannels(loaded.keys, log, loaded.presence_seqs)
    presence = PresenceDriver(
        pairs=pairs,
        manager=_manager(loaded),
        signaling=subscriptions,
        writer=writer,
        hub=hub,
        clock=time.time,
        schedule=asyncio.get_running_loop().call_later,
        log=log,
        events=bus,
        name=loaded.name,
        names={c.kith_id: c.own_name for c in loaded.contacts},
    )
    files = FileTransfers(
        store=store,
        directory=data_dir.path / VAULT_DIR,
        hub=hub,
        log=log,
        reserve=options.file_reserve,
    )
    calls = CallSwitchboard(
        store=store, hub=hub, status=presence, clock=time.time, log=log,
        notices=loaded.call_notices,
    )  # fmt: skip
    mailbox = MailboxCourier(client, MailboxKeyring(store, time.time), time.time, log)
    groups = GroupHub(
        keys=loaded.keys,
        store=store,
        hub=hub,
        clock=time.time,
        log=log,
        mailbox=mailbox,
        pairs=pairs,
        files=GroupFileInbox(files, loaded.keys.kith_id, store),
    )
    chat = ChatDriver(
        keys=loaded.keys,
        pairs=pairs,
        store=store,
        hub=hub,
        mux=subscriptions,
        relay=client,
        invisible=loaded.status == OwnStatus.INVISIBLE,
        events=bus,
        options=ChatOptions(
            ice_servers=loaded.stun_servers,
            relay_only=loaded.relay_only,
            idle_timeout=options.chat_idle_timeout,
            read_receipts=loaded.read_receipts,
            inbound_rate=options.inbound_rate,
            inbound_burst=options.inbound_burst,
            mailbox_poll=options.mailbox_poll,
        ),
        clock=time.time,
        log=log,
        turn=client,
        mailbox=mailbox,
        files=files,
        calls=calls,
        groups=groups,
    )
    call_service = CallService(
        calls, chat, turn=client, stun=loaded.stun_servers, relay_only=loaded.relay_only
    )
    group_service = GroupService(groups, chat)
    group_files = GroupFiles(
        groups=groups, files=files, chat=chat, store=store, me=loaded.keys.kith_id
    )
    dispatcher = Dispatcher(bus, presence, chat, log)
    pump = SignalPump(presence, chat, log, problems=hub, intros=requests)
    return _Parts(
        client, presence, chat, dispatcher, pump, writer, hub, requests, files, calls,
        call_service, groups, group_service, group_files,
    )  # fmt: skip


def _ui_port(store: Store) -> int:
    """The ``ui_port`` setting (0: none chosen yet)."""
    value = store.settings.get("ui_port")
    return value if isinstance(value, int) else 0


def _manager(loaded: _Loaded) -> PresenceManager:
    return PresenceManager(
        status=OwnStatus(loaded.status),
        text=loaded.text,
        auto_away_minutes=loaded.auto_away_minutes,
        now=time.time(),
        contacts=[c.kith_id for c in loaded.contacts],
        last_seq=loaded.last_seq,
    )


class Node:
    """A running node; build it with :meth:`start`."""

    def __init__(
        self, data_dir: DataDir, store: AsyncStore, parts: _Parts, log: logging.Logger
    ) -> None:
        self._data_dir = data_dir
        self._store = store
        self._parts = parts
        self._log = log
        self._tasks: list[asyncio.Task[None]] = []
        self._api: ApiServer | None = None
        self._policy: AccessPolicy | None = None
        self._runtime: RuntimeInfo | None = None

    @property
    def runtime(self) -> RuntimeInfo:
        """Where the local API listens (and its token)."""
        assert self._runtime is not None
        return self._runtime

    @classmethod
    async def start(
        cls,
        data_dir: DataDir,
        passphrases: PassphraseSource,
        options: NodeOptions,
        log: logging.Logger,
    ) -> Node:
        """Open everything, connect, serve the API and write the runtime file."""
        from kith.account import open_async_store

        store = await open_async_store(data_dir, passphrases)
        try:
            loaded = await store.run(_load)
            _warn_invalid_settings(loaded, log)
            parts = _build(loaded, options, store, log, data_dir)
            parts.presence.load(loaded.contacts)
            await parts.files.load()
            await parts.groups.load()
            await parts.chat.load(loaded.contacts)
            parts.dispatcher.route_pending()  # what waits, before the first publish
        except BaseException:
            await store.close()
            raise
        node = cls(data_dir, store, parts, log)
        try:
            await node._serve(options)
        except BaseException:
            await node.stop()
            raise
        return node

    async def _serve(self, options: NodeOptions) -> None:
        parts = self._parts
        self._tasks = [
            asyncio.create_task(parts.dispatcher.run(), name="dispatcher"),
            asyncio.create_task(parts.client.run(), name="signaling"),
            asyncio.create_task(parts.pump.run(parts.client.events()), name="pump"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._task_done)
        service = NodeService(
            store=self._store,
            writer=parts.writer,
            presence=parts.presence,
            hub=parts.hub,
            chat=parts.chat,
            requests=parts.requests,
        )
        token = new_token()
        policy = AccessPolicy(
            token=token, clock=time.monotonic, idle_timeout=options.session_idle_timeout
        )
        kept = await self._store.run(_take_browser_sessions)
        policy.restore_sessions(kept, time.time())
        self._policy = policy
        wanted = options.api_port
        if wanted is None:
            wanted = await self._store.run(_ui_port)
        self._api = ApiServer(
            service,
            parts.hub,
            policy,
            self._log,
            host=options.api_host,
            port=wanted,
            fallback=options.api_port is None,
            account=AccountAccess(self._store, self._data_dir),
            files=FileService(parts.files, parts.chat),
            calls=parts.call_service,
            groups=parts.group_service,
            group_files=parts.group_files,
        )
        port = await self._api.start()
        if options.api_port is None and wanted == 0:
            await self._store.run(lambda s: s.settings.set("ui_port", port, time.time()))
        self._runtime = RuntimeInfo(os.getpid(), options.api_host, port, token, time.time())
        write_runtime(self._data_dir.path, self._runtime)

    async def stop(self) -> None:
        """Appear offline, close the connection and the API, save, close the store."""
        parts = self._parts
        if self._runtime is not None:
            remove_runtime(self._data_dir.path, self._runtime)
        if self._api is not None:
            await self._api.stop()
        await parts.calls.stop()  # hang-ups go out while the channels are open
        await parts.chat.stop()
        await parts.groups.stop()
        await parts.files.stop()
        await parts.requests.stop()
        parts.presence.stop()
        await parts.presence.flush()
        await self._drain()
        await parts.client.close()
        for task in self._tasks:
            if task.get_name() == "dispatcher":
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        parts.hub.close()
        await parts.writer.flush()
        await self._keep_browser_sessions()
        await self._store.close()

    async def _keep_browser_sessions(self) -> None:
        """A clean stop keeps the live browser sessions (hashes only), so an
        open page carries on after a restart; a crash keeps none."""
        if self._policy is None:
            return
        sessions = self._policy.export_sessions(time.time())
        await self._store.run(lambda store: store.browser_sessions.replace_all(sessions))

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.error("the %s task failed: %r", task.get_name(), task.exception())

    async def _drain(self) -> None:
        """Wait until the offline record and retracts have reached the server.

        A relay is answered only after every earlier frame on the connection
        was handled, so its reply (usually ``peer_offline`` for a random topic)
        marks the point where our last publications are through.
        """
        if self._parts.presence.connection is not ConnectionState.CONNECTED:
            return
        with contextlib.suppress(SignalingError, TimeoutError):
            await self._parts.client.relay(os.urandom(32), b"\x00", timeout=DRAIN_TIMEOUT)


def _take_browser_sessions(store: Store) -> list[tuple[bytes, float]]:
    with store.transaction():
        return store.browser_sessions.take_all()


def reconnect_policy(reconnect_max: float) -> BackoffPolicy:
    """The waits between attempts to reach the signaling server: bounds doubling
    from 0.5 s (or ``reconnect_max`` if smaller) up to ``reconnect_max``."""
    return BackoffPolicy(base=min(RECONNECT_BASE, reconnect_max), cap=reconnect_max)


def _client(loaded: _Loaded, options: NodeOptions) -> SignalingClient:
    """The signaling client, on the server(s) ``signaling_url`` names (one URL,
    or several separated by spaces, tried in random order)."""
    try:
        return SignalingClient(
            loaded.keys,
            loaded.signaling_url.split(),
            heartbeat_interval=options.heartbeat_interval,
            heartbeat_timeout=options.heartbeat_timeout,
            policy=reconnect_policy(options.reconnect_max),
        )
    except ValueError as exc:
        raise KithError(
            f"cannot use signaling_url {loaded.signaling_url!r}: {exc}", code="bad_signaling_url"
        ) from None
