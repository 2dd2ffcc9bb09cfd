"""Raw access to a running node's local API: HTTP requests and the events socket."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from websockets.sync.client import connect

from kith.runtime.runtime_file import RuntimeInfo
from kith_testkit.nodes import NodeProcess
from kith_testkit.polling import wait_for


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


def http_get(
    info: RuntimeInfo, path: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A raw GET to the node (status, headers, body), Host set as a browser would."""
    conn = http.client.HTTPConnection(info.host, info.port, timeout=5)
    try:
        sent = {"Host": f"{info.host}:{info.port}", **(headers or {})}
        conn.request("GET", path, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
