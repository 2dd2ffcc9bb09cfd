"""Several real ``kith-signal`` processes joined through real redis-servers.

:class:`SignalCluster` starts one or more :class:`~kith_testkit.redis_server.RedisServer`
shards, writes a cluster secret file, and starts ``kith-signal`` processes
with ``--redis`` for each shard; each process is returned once every shard
reports ``event=redis_up``. Everything is stopped by :meth:`SignalCluster.close`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from kith_testkit.redis_server import RedisServer
from kith_testkit.signal.process import SignalProcess

__all__ = ["FAST_CLUSTER_FLAGS", "SignalCluster"]

FAST_CLUSTER_FLAGS = ("--cluster-ttl", "1.5", "--cluster-beat", "0.3")
"""A dead process is reaped within 1.8 s (TTL + one beat)."""


class SignalCluster:
    """Redis shards under ``root`` and the ``kith-signal`` processes using them."""

    def __init__(self, root: Path, *, shards: int = 1) -> None:
        self.root = root
        self.redis = [RedisServer(root / f"redis-{i}") for i in range(shards)]
        self.secret_file = root / "cluster-secret"
        self.secret_file.write_text(secrets.token_hex(32) + "\n")
        self.secret_file.chmod(0o600)
        self.processes: list[SignalProcess] = []
        for server in self.redis:
            server.start()

    def flags(self) -> list[str]:
        """The ``--redis`` and ``--cluster-secret-file`` flags of this cluster."""
        out = ["--cluster-secret-file", str(self.secret_file)]
        for server in self.redis:
            out += ["--redis", server.url]
        return out

    def start(self, *flags: str) -> SignalProcess:
        """A new process in the cluster, once every shard is up for it."""
        process = SignalProcess(*self.flags(), *FAST_CLUSTER_FLAGS, *flags)
        self.processes.append(process)
        process.wait_for_count("event=redis_up", len(self.redis), timeout=10)
        return process

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        for server in self.redis:
            server.kill()
