"""The ``signal_loadgen.py`` worker processes, driven by JSON lines.

Shared by ``bench_signal.py`` (one server) and ``bench_cluster.py`` (several):
worker ``w`` dials ``urls[w % len(urls)]``. Every read has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class Workers:
    """``count`` load generators over ``users`` users with ``contacts`` contacts each."""

    def __init__(self, urls: list[str], count: int, users: int, contacts: int) -> None:
        script = str(HERE / "signal_loadgen.py")
        self.procs = [
            subprocess.Popen(
                [
                    *(sys.executable, script, "--url", urls[w % len(urls)]),
                    *("--worker", str(w), "--workers", str(count)),
                    *("--users", str(users), "--contacts", str(contacts)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for w in range(count)
        ]
        self.hello = [self._read(p, 60) for p in self.procs]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def all(self, cmd: str, timeout: float = 180, **args: Any) -> list[dict[str, Any]]:
        """Send one command to every worker at once; return their answers."""
        for proc in self.procs:
            self._send(proc, {"cmd": cmd, **args})
        return [self._read(p, timeout) for p in self.procs]

    def only(self, index: int, cmd: str, timeout: float = 30) -> dict[str, Any]:
        """Send one command to one worker; return its answer."""
        proc = self.procs[index]
        self._send(proc, {"cmd": cmd})
        return self._read(proc, timeout)

    def stop(self) -> None:
        """Ask every live worker to quit; kill those that do not."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(BrokenPipeError):
                    self._send(proc, {"cmd": "quit"})
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    @staticmethod
    def _send(proc: subprocess.Popen[str], command: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(command) + "\n")
        proc.stdin.flush()

    @staticmethod
    def _read(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        assert proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            raise SystemExit(f"load generator {proc.pid} did not answer in {timeout} s")
        answer: dict[str, Any] = json.loads(result[0])
        return answer
