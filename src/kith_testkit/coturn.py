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

__all__ = ["TURNSERVER", "CoturnProcess", "coturn_available"]

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


def _config(root: Path, port: int, secret: str, relay_ports: tuple[int, int]) -> str:
    return "\n".join(
        [
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={relay_ports[0]}",
            f"max-port={relay_ports[1]}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            "realm=kith.test",
            "no-tls",
            "no-dtls",
            "no-cli",
            "allow-loopback-peers",
            "fingerprint",
            "log-file=stdout",
            "simple-log",
            f"pidfile={root / 'turnserver.pid'}",
            f"userdb={root / 'turndb'}",
            "",
        ]
    )


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
        config.write_text(_config(root, self.port, self.secret, (first, first + 400)))
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
        deadline = time.monotonic() + READY_TIMEOUT
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"turnserver exited: {self.log.read_text()[-2000:]}")
                transaction = secrets.token_bytes(12)
                probe.sendto(
                    b"\x00\x01\x00\x00" + _STUN_MAGIC + transaction, ("127.0.0.1", self.port)
                )
                try:
                    answer = probe.recv(2048)
                except TimeoutError:
                    continue
                if answer[:2] == b"\x01\x01" and answer[8:20] == transaction:
                    return
        raise TimeoutError(f"turnserver did not answer STUN within {READY_TIMEOUT} s")

    def stop(self) -> None:
        """Stop coturn (SIGTERM, then SIGKILL after 5 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
