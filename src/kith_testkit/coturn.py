"""A real coturn (``turnserver``) on 127.0.0.1 for tests and benchmarks.

It runs with the shared-secret scheme ``kith-signal --turn-secret-file``
uses (``use-auth-secret``), plain UDP/TCP only, relaying on loopback (which
coturn refuses unless ``allow-loopback-peers``). Readiness is a STUN binding
request answered, not a sleep. Install coturn with ``make system-deps``.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = [
    "TURNSERVER",
    "CoturnProcess",
    "coturn_available",
    "stop_turnserver",
    "turnserver_config",
    "wait_turnserver_ready",
]

TURNSERVER = "/usr/bin/turnserver"
READY_TIMEOUT = 10.0
_STUN_MAGIC = bytes.fromhex("2112a442")


def coturn_available() -> bool:
    """Whether coturn is installed (``scripts/system-deps.sh`` installs it)."""
    return os.access(TURNSERVER, os.X_OK) or shutil.which("turnserver") is not None


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


def turnserver_config(
    root: Path, ip: str, port: int, secret: str, relay_ports: tuple[int, int], peers: list[str]
) -> str:
    """A ``turnserver.conf``: shared-secret auth on ``ip:port``, plain UDP/TCP,
    relaying from ``relay_ports``; ``peers`` says which peers it may relay to."""
    return "\n".join(
        [
            f"listening-ip={ip}",
            f"relay-ip={ip}",
            f"listening-port={port}",
            f"min-port={relay_ports[0]}",
            f"max-port={relay_ports[1]}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            "realm=kith.test",
            "no-tls",
            "no-dtls",
            "no-cli",
            "fingerprint",
            *peers,
            "log-file=stdout",
            "simple-log",
            f"pidfile={root / 'turnserver.pid'}",
            f"userdb={root / 'turndb'}",
            "",
        ]
    )


def stun_answered(ip: str, port: int) -> bool:
    """Whether a STUN binding request to ``ip:port`` gets its answer (0.2 s)."""
    transaction = secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(b"\x00\x01\x00\x00" + _STUN_MAGIC + transaction, (ip, port))
        try:
            answer = probe.recv(2048)
        except TimeoutError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


def wait_turnserver_ready(proc: subprocess.Popen[bytes], log: Path, ip: str, port: int) -> None:
    """Return once ``proc`` answers STUN on ``ip:port``; raise if it exits or
    does not answer within :data:`READY_TIMEOUT`. Call it where ``ip`` is
    reachable (inside the server's network namespace, if it has one)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text()[-2000:]}")
        if stun_answered(ip, port):
            return
    raise TimeoutError(f"turnserver did not answer STUN within {READY_TIMEOUT} s")


def stop_turnserver(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class CoturnProcess:
    """``turnserver`` on 127.0.0.1 with a temporary configuration.

    Attributes:
        port: The STUN/TURN port (UDP and TCP).
        secret: The ``static-auth-secret``.
        secret_file: A file holding it, for ``kith-signal --turn-secret-file``.
        url: ``turn:127.0.0.1:PORT?transport=udp``.
    """

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.secret = secrets.token_urlsafe(24)
        self.secret_file = root / "turn-secret"
        self.secret_file.write_text(self.secret + "\n")
        self.secret_file.chmod(0o600)
        first = random.randrange(49152, 65000)
        config = root / "turnserver.conf"
        relay_ports, peers = (first, first + 400), ["allow-loopback-peers"]
        config.write_text(
            turnserver_config(root, "127.0.0.1", self.port, self.secret, relay_ports, peers)
        )
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        self.log = root / "turnserver.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [TURNSERVER, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        wait_turnserver_ready(self.proc, self.log, "127.0.0.1", self.port)

    def stop(self) -> None:
        """Stop coturn (SIGTERM, then SIGKILL after 5 s)."""
        stop_turnserver(self.proc)
