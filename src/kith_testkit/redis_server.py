"""A real ``redis-server`` on 127.0.0.1 for tests and benchmarks.

Each :class:`RedisServer` runs on a free loopback port with its own temporary
directory, no persistence unless asked (``appendonly=True`` turns on the
append-only file, ``fsync always``, so "stopped and restarted" keeps what was
written). Readiness is a ``PING`` answered ``PONG``, polled with a bound, never
a sleep. :meth:`RedisServer.stop` (SIGTERM, clean), :meth:`RedisServer.kill`
(SIGKILL) and :meth:`RedisServer.start` again on the same port model "Redis
went away mid-test and came back". Debian's ``redis-server`` package
(``make system-deps``) provides the binary; its own service, if it runs, is
never touched.

Use it as ``with RedisServer(tmp_path) as redis: ...`` or
``async with RedisServer(tmp_path) as redis: ...`` (start and stop run in a
thread, so the event loop is never blocked), or through :func:`running`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

__all__ = ["REDIS_SERVER", "RedisServer", "redis_available", "running"]

REDIS_SERVER = "/usr/bin/redis-server"
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def redis_available() -> bool:
    """Whether ``redis-server`` is installed (``scripts/system-deps.sh`` does it)."""
    return _binary() is not None


def _binary() -> str | None:
    if os.access(REDIS_SERVER, os.X_OK):
        return REDIS_SERVER
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ping(port: int, timeout: float = 0.5) -> bool:
    """One ``PING`` in raw RESP: True when the server answers ``+PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` on 127.0.0.1, restartable on the same port.

    Attributes:
        root: The directory holding its configuration, log and (if asked) data.
        port: The TCP port, fixed for the object's life.
        url: ``redis://127.0.0.1:PORT/0``, for ``kith-signal --redis``.
        appendonly: Whether writes survive a restart (the append-only file).
    """

    def __init__(self, root: Path, *, appendonly: bool = False, port: int | None = None) -> None:
        binary = _binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed: run make system-deps")
        self._binary = binary
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.appendonly = appendonly
        self.log = root / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            f"dir {self.root}",
            f"logfile {self.log}",
            'save ""',
        ]
        if self.appendonly:
            lines += ["appendonly yes", "appendfsync always"]
        else:
            lines += ["appendonly no"]
        return "\n".join(lines) + "\n"

    @property
    def running(self) -> bool:
        """Whether the process is alive (not whether it answers)."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start (or start again, same port and directory) and wait for ``PONG``."""
        if self.running:
            raise RuntimeError("redis-server is already running")
        config = self.root / "redis.conf"
        config.write_text(self._config())
        self.proc = subprocess.Popen(
            [self._binary, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            if _ping(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer PING in {READY_TIMEOUT} s")

    def ping(self) -> bool:
        """Whether the server answers ``PING`` right now."""
        return _ping(self.port)

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown (the append-only file is flushed)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL and wait: what a crash looks like to clients."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop cleanly, then start on the same port with the same directory."""
        self.stop()
        self.start()

    def _end(self, how: signal.Signals) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(how)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def client(self) -> redis.Redis:
        """A synchronous client, for tests that inspect what Redis holds."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5.0)

    def dump(self) -> list[bytes]:
        """Every key, and every value, field, member and score, as raw bytes.

        For privacy tests: search the result for what must not be there.
        """
        out: list[bytes] = []
        # redis-py types replies as bytes | str | None for every decode setting;
        # this client never decodes, so every reply is bytes.
        client: Any
        with contextlib.closing(self.client()) as client:
            for key in client.scan_iter(count=1000):
                out.append(key)
                kind = client.type(key)
                if kind == b"string":
                    out.append(client.get(key) or b"")
                elif kind == b"hash":
                    for field, value in client.hgetall(key).items():
                        out += [field, value]
                elif kind == b"list":
                    out += client.lrange(key, 0, -1)
                elif kind == b"set":
                    out += sorted(client.smembers(key))
                elif kind == b"zset":
                    for member, score in client.zrange(key, 0, -1, withscores=True):
                        out += [member, repr(score).encode()]
                elif kind == b"stream":
                    for entry_id, fields in client.xrange(key):
                        out.append(entry_id)
                        for field, value in fields.items():
                            out += [field, value]
                else:  # pragma: no cover - a type the project never writes
                    out.append(client.dump(key) or b"")
        return out

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.kill()

    async def __aenter__(self) -> RedisServer:
        import asyncio

        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        import asyncio

        await asyncio.to_thread(self.kill)


@contextlib.contextmanager
def running(root: Path, *, appendonly: bool = False) -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, killed on exit: ``yield from`` it in a fixture."""
    with RedisServer(root, appendonly=appendonly) as server:
        yield server
