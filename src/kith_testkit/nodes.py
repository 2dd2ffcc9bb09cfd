"""Test support for the node: data directories, real ``kith run`` processes.

Nodes run as real subprocesses; the tests act through the real CLI and poll
through the node's local API (:class:`kith.api.client.NodeBackend`) with
bounded waits, never fixed sleeps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kith.account import create_account, open_store
from kith.api.client import NodeBackend
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.models import Contact
from kith.output_lines import OutputLines
from kith.passphrases import FixedPassphrase
from kith.runtime.runtime_file import RuntimeInfo, read_runtime
from kith.store.store import Store
from kith_proto.keys import IdentityKeys
from kith_testkit.polling import WAIT, wait_for

PASSPHRASE = "node test passphrase"
# Tests stop and restart the signaling server and wait seconds, not the half
# minute a node may wait at worst by default before it tries again.
RECONNECT_FLAGS = ("--reconnect-max", "2")


def kith_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test", **extra)
    return env


def make_identity(
    path: Path, name: str, signaling_url: str | None = None, keys: IdentityKeys | None = None
) -> str:
    """Create an identity in ``path`` (cheap test Argon2id parameters); return its Kith ID."""

    def populate(store: Store) -> None:
        if signaling_url is not None:
            store.settings.set("signaling_url", signaling_url, time.time())

    previous = os.environ.get("KITH_ARGON2_PROFILE")
    os.environ["KITH_ARGON2_PROFILE"] = "test"
    try:
        info = create_account(
            DataDir(path),
            name=name,
            protection=Protection.PASSPHRASE,
            passphrases=FixedPassphrase(PASSPHRASE),
            keys=keys,
            populate=populate,
        )
    finally:
        if previous is None:
            del os.environ["KITH_ARGON2_PROFILE"]
        else:
            os.environ["KITH_ARGON2_PROFILE"] = previous
    return info.kith_id


def add_contact(path: Path, contact: str, name: str) -> None:
    """Add a contact straight into the database of a stopped node."""
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store:
        kith_id, public_key = canonical_id(contact)
        store.contacts.add(kith_id, public_key, name, time.time())


def kith(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``kith`` CLI on ``data_dir``."""
    return python("-m", "kith.cli.main", "--data-dir", str(data_dir), *args)


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args`` in the tests' environment (:func:`kith_env`)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=kith_env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


class NodeProcess:
    """A real ``kith run`` subprocess with its stderr captured.

    ``ready_timeout`` bounds its start: generous, since on a slow or busy
    machine several nodes starting at once each take many seconds. A node
    that does not come up in time is killed, not left running.
    """

    def __init__(self, data_dir: Path, *flags: str, ready_timeout: float = 60.0) -> None:
        self.data_dir = data_dir
        self._ready_timeout = ready_timeout
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kith.cli.main",
                "--data-dir",
                str(data_dir),
                "run",
                "--no-browser",
                *RECONNECT_FLAGS,
                *flags,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=kith_env(),
        )
        assert self.proc.stdout is not None
        self.output = OutputLines(self.proc.stdout)
        self.lines = self.output.lines
        self.info = self._wait_ready()
        self.api = NodeBackend(self.info)

    def _wait_ready(self) -> RuntimeInfo:
        def ready() -> RuntimeInfo | None:
            assert self.proc.poll() is None, "\n".join(self.lines)
            if not any("local API at" in line for line in self.lines):
                return None
            return read_runtime(self.data_dir)

        try:
            return wait_for(ready, "the node to start", timeout=self._ready_timeout)
        except AssertionError:
            self.proc.kill()
            self.proc.wait(10)
            raise

    def contact(self, kith_id: str) -> Contact:
        return next(c for c in self.api.contacts() if c.kith_id == kith_id)

    def sees(self, kith_id: str, status: str, timeout: float = WAIT, **fields: Any) -> Contact:
        """Wait until this node shows ``kith_id`` with ``status`` (and ``fields``)."""

        def probe() -> Contact | None:
            c = self.contact(kith_id)
            wanted = c.status == status and all(getattr(c, k) == v for k, v in fields.items())
            return c if wanted else None

        return wait_for(probe, f"{kith_id[:8]} to show {status} {fields}", timeout)

    def connection_is(self, state: str, timeout: float = WAIT) -> None:
        wait_for(lambda: True if self.api.status().connection == state else None, state, timeout)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.api.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(WAIT)
        self.output.join(WAIT)
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
