"""The node: the one place that wires Kith's components together.

:meth:`Node.start` opens the store, restores identity, settings and contacts,
builds the presence manager and its link to the signaling client, serves the
local API and writes the runtime file; :meth:`Node.stop` undoes it in
reverse, appearing offline to contacts first. Everything else receives its
collaborators from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Final

from kith.api.access import AccessPolicy
from kith.api.account_routes import AccountAccess
from kith.api.server import ApiServer
from kith.datadir import DataDir
from kith.errors import KithError
from kith.models import Contact
from kith.passphrases import PassphraseSource
from kith.presence import ConnectionState, OwnStatus, PresenceManager
from kith.runtime.chat_link import ChatLink
from kith.runtime.chat_pump import MessagingPump
from kith.runtime.events import EventHub
from kith.runtime.peer_links import ChatOptions
from kith.runtime.presence_link import PresenceLink
from kith.runtime.runtime_file import RuntimeInfo, new_token, remove_runtime, write_runtime
from kith.runtime.service import NodeService
from kith.runtime.store_writer import StoreWriter
from kith.runtime.subscriptions import SubscriptionMux
from kith.signaling import SignalingClient, SignalingError
from kith.store.async_store import AsyncStore
from kith.store.state import PRESENCE_SEQ
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

__all__ = ["Node", "NodeOptions"]

DRAIN_TIMEOUT: Final = 2.0


@dataclass(frozen=True)
class NodeOptions:
    """How to run the node (defaults suit users; tests shorten the heartbeats).

    Attributes:
        heartbeat_interval: Seconds between pings to the signaling server.
        heartbeat_timeout: Seconds without a pong before reconnecting.
        api_host: Loopback address of the local API.
        api_port: Port of the local API; 0 picks a free one.
    """

    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 10.0
    api_host: str = "127.0.0.1"
    api_port: int = 0
    chat_idle_timeout: float = 300.0


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
    read_receipts: bool = False


def _load(store: Store) -> _Loaded:
    """Read what the node starts from.

    The node starts disconnected, knowing nobody online; contacts a crashed
    run left online are marked offline (their ``last_seen`` is kept) so the
    store agrees with the presence manager.
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
        stun_servers=tuple(str(u) for u in _list(settings.get("stun_servers"))),
        read_receipts=settings.get("read_receipts") is True,
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


class Node:
    """A running node; build it with :meth:`start`."""

    def __init__(
        self,
        data_dir: DataDir,
        store: AsyncStore,
        client: SignalingClient,
        link: PresenceLink,
        writer: StoreWriter,
        hub: EventHub,
        log: logging.Logger,
        chat: ChatLink,
    ) -> None:
        self._data_dir = data_dir
        self._store = store
        self._client = client
        self._link = link
        self._writer = writer
        self._hub = hub
        self._log = log
        self._chat = chat
        self._tasks: list[asyncio.Task[None]] = []
        self._api: ApiServer | None = None
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
            node = cls._wire(data_dir, store, loaded, options, log)
            await node._chat.load(loaded.contacts)
        except BaseException:
            await store.close()
            raise
        try:
            await node._serve(options)
        except BaseException:
            await node.stop()
            raise
        return node

    @classmethod
    def _wire(
        cls,
        data_dir: DataDir,
        store: AsyncStore,
        loaded: _Loaded,
        options: NodeOptions,
        log: logging.Logger,
    ) -> Node:
        client = _client(loaded, options)
        manager = PresenceManager(
            status=OwnStatus(loaded.status),
            text=loaded.text,
            auto_away_minutes=loaded.auto_away_minutes,
            now=time.time(),
            contacts=[c.kith_id for c in loaded.contacts],
            last_seq=loaded.last_seq,
        )
        hub, writer = EventHub(), StoreWriter(store, log)
        mux = SubscriptionMux(client)
        chat: ChatLink | None = None
        link = PresenceLink(
            keys=loaded.keys,
            manager=manager,
            signaling=mux,
            writer=writer,
            hub=hub,
            clock=time.time,
            schedule=asyncio.get_running_loop().call_later,
            log=log,
            outbox_flag=lambda contact_id: chat is not None and chat.has_messages_for(contact_id),
        )
        chat = _chat(loaded, options, store, hub, mux, client, link, log)
        link.load(loaded.contacts)
        return cls(data_dir, store, client, link, writer, hub, log, chat)

    async def _serve(self, options: NodeOptions) -> None:
        self._tasks = [
            asyncio.create_task(self._client.run(), name="signaling"),
            asyncio.create_task(
                MessagingPump(self._link, self._chat, self._log).run(self._client.events()),
                name="pump",
            ),
        ]
        for task in self._tasks:
            task.add_done_callback(self._task_done)
        service = NodeService(
            store=self._store, writer=self._writer, link=self._link, hub=self._hub, chat=self._chat
        )
        token = new_token()
        policy = AccessPolicy(token=token, clock=time.monotonic)
        self._api = ApiServer(
            service,
            self._hub,
            policy,
            self._log,
            host=options.api_host,
            port=options.api_port,
            account=AccountAccess(self._store, self._data_dir),
        )
        port = await self._api.start()
        self._runtime = RuntimeInfo(os.getpid(), options.api_host, port, token, time.time())
        write_runtime(self._data_dir.path, self._runtime)

    async def stop(self) -> None:
        """Appear offline, close the connection and the API, save, close the store."""
        if self._runtime is not None:
            remove_runtime(self._data_dir.path, self._runtime)
        if self._api is not None:
            await self._api.stop()
        await self._chat.stop()
        self._link.stop()
        await self._drain()
        await self._client.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._hub.close()
        await self._writer.flush()
        await self._store.close()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._log.error("the %s task failed: %r", task.get_name(), task.exception())

    async def _drain(self) -> None:
        """Wait until the offline record and retracts have reached the server.

        A relay is answered only after every earlier frame on the connection
        was handled, so its reply (usually ``peer_offline`` for a random topic)
        marks the point where our last publications are through.
        """
        if self._link.connection is not ConnectionState.CONNECTED:
            return
        with contextlib.suppress(SignalingError, TimeoutError):
            await self._client.relay(os.urandom(32), b"\x00", timeout=DRAIN_TIMEOUT)


def _chat(
    loaded: _Loaded,
    options: NodeOptions,
    store: AsyncStore,
    hub: EventHub,
    mux: SubscriptionMux,
    client: SignalingClient,
    link: PresenceLink,
    log: logging.Logger,
) -> ChatLink:
    chat = ChatLink(
        keys=loaded.keys,
        store=store,
        hub=hub,
        mux=mux,
        relay=client,
        invisible=lambda: link.own_status().status == "invisible",
        refresh_presence=link.refresh_flag,
        options=ChatOptions(
            ice_servers=loaded.stun_servers,
            idle_timeout=options.chat_idle_timeout,
            read_receipts=loaded.read_receipts,
        ),
        clock=time.time,
        log=log,
    )
    mux.on_publication = chat.status_changed
    return chat


def _client(loaded: _Loaded, options: NodeOptions) -> SignalingClient:
    try:
        return SignalingClient(
            loaded.keys,
            loaded.signaling_url,
            heartbeat_interval=options.heartbeat_interval,
            heartbeat_timeout=options.heartbeat_timeout,
        )
    except ValueError as exc:
        raise KithError(
            f"cannot use signaling_url {loaded.signaling_url!r}: {exc}", code="bad_signaling_url"
        ) from None
