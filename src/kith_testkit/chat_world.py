"""A real ``kith-signal`` and real ``kith run`` nodes of users who are mutual contacts.

Every wait is bounded polling through the nodes' local APIs.
"""

from __future__ import annotations

from pathlib import Path

from kith.conversation_store import ChatMessage
from kith_testkit.nodes import NodeProcess, add_contact, make_identity
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import SignalProcess

SERVER_FLAGS = ("--heartbeat-interval", "0.5", "--heartbeat-timeout", "1")
NODE_FLAGS = SERVER_FLAGS


class ChatWorld:
    """A server and the data directories of users who are mutual contacts."""

    def __init__(self, root: Path, names: str = "ab", server_flags: tuple[str, ...] = ()) -> None:
        self.server = SignalProcess(*SERVER_FLAGS, *server_flags)
        self.dirs = {n: root / n for n in names}
        self.ids = {n: make_identity(p, n, self.server.url) for n, p in self.dirs.items()}
        for n in names:
            for other in names:
                if other != n:
                    add_contact(self.dirs[n], self.ids[other], other)
        self.nodes: dict[str, NodeProcess] = {}

    def start(self, *names: str, flags: tuple[str, ...] = ()) -> list[NodeProcess]:
        """Start the named nodes (``flags`` added to each one's ``kith run``)."""
        for name in names:
            self.nodes[name] = NodeProcess(self.dirs[name], *NODE_FLAGS, *flags)
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
