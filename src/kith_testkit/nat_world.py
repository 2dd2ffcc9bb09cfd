"""Two Kith users behind their own NATs, the services on a public network.

:class:`NatWorld` puts a real coturn (STUN for everyone, TURN when the
signaling server hands out its credentials) and a real ``kith-signal`` in
the public namespace of a :class:`kith_testkit.netns.NatNetwork`, and a real
``kith run`` node of each user in a home namespace behind its NAT. Every
HTTP call to a node and every ``kith`` CLI run goes through
:meth:`NatWorld.at`, which runs it inside that user's namespace (the node's
local API listens on that namespace's 127.0.0.1).
"""

from __future__ import annotations

import functools
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kith_testkit.chat_world import NODE_FLAGS, SERVER_FLAGS
from kith_testkit.coturn import (
    TURNSERVER,
    stop_turnserver,
    turnserver_config,
    wait_turnserver_ready,
)
from kith_testkit.netns import SERVICE_IP, Namespace, NatNetwork
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.signal.process import SignalProcess

__all__ = ["TURN_PORT", "NamespacedCoturn", "NatWorld"]

T = TypeVar("T")
TURN_PORT = 3478


_PEERS = [
    # docs/deploy.md: never relay into private networks; here every
    # address is private, so only the relay's own address stays allowed
    "no-multicast-peers",
    "denied-peer-ip=10.0.0.0-10.255.255.255",
    "denied-peer-ip=192.168.0.0-192.168.255.255",
    f"allowed-peer-ip={SERVICE_IP}",
]


class NamespacedCoturn:
    """``turnserver`` in ``namespace`` on :data:`SERVICE_IP`, shared-secret auth.

    Attributes:
        secret_file: The secret, for ``kith-signal --turn-secret-file``.
        url: ``turn:10.200.0.1:3478?transport=udp``.
        stun_url: ``stun:10.200.0.1:3478``, for the nodes' ``stun_servers``.
    """

    def __init__(self, namespace: Namespace, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        self.secret_file = root / "turn-secret"
        self.secret_file.write_text(secret + "\n")
        self.secret_file.chmod(0o600)
        config = root / "turnserver.conf"
        config.write_text(
            turnserver_config(root, SERVICE_IP, TURN_PORT, secret, (49152, 49352), _PEERS)
        )
        self.url = f"turn:{SERVICE_IP}:{TURN_PORT}?transport=udp"
        self.stun_url = f"stun:{SERVICE_IP}:{TURN_PORT}"
        self.log = root / "turnserver.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                namespace.command(TURNSERVER, "-c", str(config)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            namespace.run(self._wait_ready)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        wait_turnserver_ready(self.proc, self.log, SERVICE_IP, TURN_PORT)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        stop_turnserver(self.proc)


class NatWorld:
    """coturn and ``kith-signal`` in public, users ``a`` and ``b`` behind NATs.

    Args:
        root: Where data directories and logs go.
        turn: Whether ``kith-signal`` hands out the coturn's TURN credentials
            (without, coturn still answers STUN).
    """

    def __init__(self, root: Path, *, turn: bool) -> None:
        self.net = NatNetwork("ab")
        self.coturn: NamespacedCoturn | None = None
        self.server: SignalProcess | None = None
        self.nodes: dict[str, NodeProcess] = {}
        try:
            self._build(root, turn)
        except BaseException:
            self.close()
            raise

    def _build(self, root: Path, turn: bool) -> None:
        self.coturn = NamespacedCoturn(self.net.public, root / "coturn")
        flags = ["--host", SERVICE_IP]
        if turn:
            flags += ["--turn-url", self.coturn.url]
            flags += ["--turn-secret-file", str(self.coturn.secret_file)]
        self.server = self.net.public.run(lambda: SignalProcess(*SERVER_FLAGS, *flags))
        self.dirs = {n: root / n for n in "ab"}
        self.ids = {n: make_identity(p, n, self.server.url) for n, p in self.dirs.items()}
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        for path in self.dirs.values():
            ok(kith(path, "settings", "set", "stun_servers", self.coturn.stun_url))

    def at(self, name: str, call_: Callable[[], T]) -> T:
        """``call_()`` inside user ``name``'s home namespace."""
        return self.net.homes[name].run(call_)

    def start(self) -> None:
        """Start both nodes, each in its home, and wait until each sees the other online."""
        for name, path in self.dirs.items():
            self.nodes[name] = self.at(name, functools.partial(NodeProcess, path, *NODE_FLAGS))
        self.at("a", lambda: self.nodes["a"].sees(self.ids["b"], "online"))
        self.at("b", lambda: self.nodes["b"].sees(self.ids["a"], "online"))

    def send(self, name: str, other: str, text: str) -> None:
        """``kith send OTHER TEXT`` through user ``name``'s running node."""
        self.at(name, lambda: ok(kith(self.dirs[name], "send", other, text)))

    def api(self, name: str, method: str, path: str) -> tuple[int, Any]:
        """One raw request to user ``name``'s local API."""
        return self.at(name, lambda: call(self.nodes[name], method, path))

    def close(self) -> None:
        """Stop every process, then delete every namespace."""
        for node in self.nodes.values():
            node.kill()
        if self.server is not None:
            self.server.stop()
        if self.coturn is not None:
            self.coturn.stop()
        self.net.close()
