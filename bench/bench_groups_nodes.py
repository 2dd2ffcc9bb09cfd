"""Group delivery through real nodes: time for a group message to reach every other
member of a group of 4 (p50/p99), beside a 1:1 message measured the same way.

Run: ``.venv/bin/python bench/bench_groups_nodes.py``. Four real ``kith run``
nodes and a real ``kith-signal`` on loopback; each node's ``/api/events`` is read
on its own thread, which stamps each event on arrival. The anchor, in the same
run, is the 1:1 message from the same sender to one member (its ``message``
event). Larger groups (16, 32) are not run here: 32 nodes do not fit the
shared 2-core machine; see ``bench_groups.py`` for the per-member costs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from benchlib import report, summary_ms
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess
from kith_testkit.polling import wait_for

MESSAGES = 40
NAMES = "abcd"


class Stamps:
    """A node's live events with their arrival times (perf_counter)."""

    def __init__(self, node: NodeProcess) -> None:
        info = node.info
        self.seen: dict[str, float] = {}
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
        try:
            while True:
                event = json.loads(self._ws.recv())
                now = time.perf_counter()
                body = _body(event)
                if body is not None:
                    self.seen.setdefault(body, now)
        except Exception:
            return

    def close(self) -> None:
        self._stack.close()
        self._thread.join(5)


def _body(event: dict[str, Any]) -> str | None:
    if event.get("type") == "group_message":
        return str(event["message"]["body"])
    if event.get("type") == "message":
        return str(event["message"].get("text"))
    return None


def _measure(
    stamps: dict[str, Stamps], send: Callable[[str], None], receivers: str, tag: str
) -> list[float]:
    samples = []
    for i in range(MESSAGES):
        body = f"{tag} {i}"
        start = time.perf_counter()
        send(body)
        _arrived(stamps, body, receivers)
        samples.append(max(stamps[r].seen[body] for r in receivers) - start)
    return samples


def _arrived(stamps: dict[str, Stamps], body: str, receivers: str) -> None:
    def probe() -> bool | None:
        return all(body in stamps[r].seen for r in receivers) or None

    wait_for(probe, f"{body} at {receivers}", 20.0)


def _joined(node: NodeProcess, gid: str) -> None:
    def probe() -> bool | None:
        return call(node, "GET", f"/api/groups/{gid}")[0] == 200 or None

    wait_for(probe, "a member to join")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = ChatWorld(Path(tmp), NAMES)
        try:
            world.start(*NAMES)
            for other in NAMES[1:]:
                world.online("a", other)
            a, ids = world.nodes["a"], world.ids
            members = [ids[n] for n in NAMES[1:]]
            status, group = call(a, "POST", "/api/groups", {"name": "bench", "members": members})
            assert status == 201, group
            gid = group["id"]
            stamps = {n: Stamps(world.nodes[n]) for n in NAMES[1:]}
            try:
                for n in NAMES[1:]:  # everyone's chains in place before timing
                    _joined(world.nodes[n], gid)
                warm = call(a, "POST", f"/api/groups/{gid}/messages", {"text": "warm"})
                assert warm[0] == 201
                _arrived(stamps, "warm", "bcd")

                def one_to_one(body: str) -> None:
                    assert call(a, "POST", f"/api/contacts/{ids['b']}/messages",
                                {"text": body})[0] in (200, 201)  # fmt: skip

                def to_group(body: str) -> None:
                    assert call(a, "POST", f"/api/groups/{gid}/messages", {"text": body})[0] == 201

                anchor = summary_ms(_measure(stamps, one_to_one, "b", "direct"))
                grouped = summary_ms(_measure(stamps, to_group, "bcd", "group"))
            finally:
                for s in stamps.values():
                    s.close()
        finally:
            world.close()
    rows = [
        {"case": "anchor: 1:1 message a -> b (event on b)", **anchor},
        {
            "case": "group of 4: a -> all 3 others (last event)",
            **grouped,
            "p50_vs_anchor": grouped["p50_ms"] / anchor["p50_ms"],
        },
    ]
    report("bench_groups_nodes", rows, {"load": os.getloadavg()[0]})


if __name__ == "__main__":
    main()
