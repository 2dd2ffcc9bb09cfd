"""Test support for messaging: a real ``kith-signal`` and real ``kith run`` nodes.

Reuses the node and server helpers of ``tests/node`` and ``tests/signal``.
Every wait is bounded polling through the nodes' local APIs.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

_TESTS = Path(__file__).parent.parent
for _folder in ("node", "signal"):
    if str(_TESTS / _folder) not in sys.path:
        sys.path.insert(0, str(_TESTS / _folder))

from node_support import (  # noqa: E402
    NodeProcess,
    add_contact,
    kith,
    make_identity,
    ok,
    wait_for,
)
from signal_support import SignalProcess  # noqa: E402

from kith.messages import ChatMessage  # noqa: E402

__all__ = [
    "NODE_FLAGS",
    "SERVER_FLAGS",
    "ChatWorld",
    "EventWatcher",
    "NodeProcess",
    "call",
    "kith",
    "ok",
    "wait_for",
]

SERVER_FLAGS = ("--heartbeat-interval", "0.5", "--heartbeat-timeout", "1")
NODE_FLAGS = SERVER_FLAGS


class ChatWorld:
    """A server and the data directories of users who are mutual contacts."""

    def __init__(self, root: Path, names: str = "ab") -> None:
        self.server = SignalProcess(*SERVER_FLAGS)
        self.dirs = {n: root / n for n in names}
        self.ids = {n: make_identity(p, n, self.server.url) for n, p in self.dirs.items()}
        for n in names:
            for other in names:
                if other != n:
                    add_contact(self.dirs[n], self.ids[other], other)
        self.nodes: dict[str, NodeProcess] = {}

    def start(self, *names: str) -> list[NodeProcess]:
        for name in names:
            self.nodes[name] = NodeProcess(self.dirs[name], *NODE_FLAGS)
        return [self.nodes[n] for n in names]

    def online(self, a: str, b: str) -> None:
        """Wait until ``a`` and ``b`` see each other online."""
        self.nodes[a].sees(self.ids[b], "online")
        self.nodes[b].sees(self.ids[a], "online")

    def history(self, name: str, other: str, limit: int = 1000) -> list[ChatMessage]:
        return self.nodes[name].api.messages(self.ids[other], limit)

    def wait_history(
        self, name: str, other: str, check: object, what: str, timeout: float = 15.0
    ) -> list[ChatMessage]:
        def probe() -> list[ChatMessage] | None:
            found = self.history(name, other)
            return found if check(found) else None  # type: ignore[operator]

        return wait_for(probe, what, timeout)

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


def call(node: NodeProcess, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """One raw request to a node's local API: (status, decoded JSON or None)."""
    info = node.info
    conn = http.client.HTTPConnection(info.host, info.port, timeout=10)
    headers = {"Authorization": f"Bearer {info.token}"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    return response.status, (json.loads(raw) if raw else None)


class EventWatcher:
    """Collects a node's ``/api/events`` messages on a background thread."""

    def __init__(self, node: NodeProcess) -> None:
        info = node.info
        self.events: list[dict[str, Any]] = []
        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(
            connect(
                f"ws://{info.host}:{info.port}/api/events",
                additional_headers={"Authorization": f"Bearer {info.token}"},
            )
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                self.events.append(json.loads(self._ws.recv()))

    def wait(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 15.0
    ) -> dict[str, Any]:
        """The first event (seen so far or arriving) that ``match`` accepts."""

        def probe() -> dict[str, Any] | None:
            return next((e for e in list(self.events) if match(e)), None)

        return wait_for(probe, what, timeout)

    def close(self) -> None:
        self._stack.close()
        self._thread.join(5)
