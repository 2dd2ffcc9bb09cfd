"""``kith-signal`` subprocesses on 127.0.0.1 with captured logs.

:class:`SignalProcess` watches the log (``wait_for_log``) and is started and
stopped by fixtures (:func:`running`, :func:`starter`); :class:`SignalServer`
can be restarted on the same port and sent signals (SIGSTOP, SIGCONT...).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

from kith.output_lines import OutputLines

WAIT = 5.0
HEARTBEAT_FLAGS = ("--heartbeat-interval", "0.5", "--heartbeat-timeout", "1.0")
"""Fast heartbeats; ``kith-signal`` and ``kith run`` both take these flags."""


class SignalProcess:
    """A ``kith-signal`` subprocess on 127.0.0.1, port 0, with captured logs."""

    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith_signal.cli", "--port", "0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self.output = OutputLines(self.proc.stdout)
        self.lines = self.output.lines
        line = self.wait_for_log("event=listening", timeout=15)
        match = re.search(r" port=(\d+)", line)
        assert match, line
        self.port = int(match.group(1))
        url = re.search(r" public_url=(\S+)", line)
        assert url, line
        self.url = url.group(1)
        scheme = "https" if self.url.startswith("wss:") else "http"
        self.http = f"{scheme}://127.0.0.1:{self.port}"

    def wait_for_log(self, needle: str, timeout: float = WAIT, start: int = 0) -> str:
        """Block until a log line containing ``needle`` appears."""
        found = self.output.wait(
            lambda lines: next((line for line in lines[start:] if needle in line), None), timeout
        )
        if found is None:
            raise AssertionError(f"no log line with {needle!r}:\n" + "\n".join(self.lines))
        return found

    def wait_for_count(self, needle: str, count: int, timeout: float = WAIT) -> None:
        """Block until ``count`` log lines contain ``needle``."""
        if not self.output.wait(
            lambda lines: sum(needle in line for line in lines) >= count or None, timeout
        ):
            raise AssertionError(f"fewer than {count} lines with {needle!r}")

    def log_text(self) -> str:
        return "\n".join(list(self.lines))

    def terminate(self, timeout: float = WAIT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        self.output.join(WAIT)


def running(*flags: str) -> Iterator[SignalProcess]:
    """Body of a fixture: one server with ``flags``, stopped afterwards."""
    process = SignalProcess(*flags)
    yield process
    process.stop()


def starter() -> Iterator[Callable[..., SignalProcess]]:
    """Body of a fixture: start servers with given flags; all stopped afterwards."""
    started: list[SignalProcess] = []

    def start(*flags: str) -> SignalProcess:
        process = SignalProcess(*flags)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


class SignalServer:
    """A ``kith-signal`` subprocess on 127.0.0.1 (port 0 unless given)."""

    def __init__(self, *flags: str, port: int = 0) -> None:
        self.flags = flags
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith_signal.cli", "--port", str(port), *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        self.output = OutputLines(self.proc.stdout)
        self.lines = self.output.lines
        line = self.output.wait(
            lambda lines: next((x for x in lines if "event=listening" in x), None), 15
        )
        if line is None:
            self.kill()
            raise AssertionError("kith-signal did not start:\n" + "\n".join(self.lines))
        port_match = re.search(r" port=(\d+)", line)
        url_match = re.search(r" public_url=(\S+)", line)
        assert port_match, line
        assert url_match, line
        self.port = int(port_match.group(1))
        self.url = url_match.group(1)

    def restart(self) -> SignalServer:
        """Kill this process and start a new one on the same port."""
        self.kill()
        return SignalServer(*self.flags, port=self.port)

    def send(self, signum: signal.Signals) -> None:
        """Send a signal (SIGSTOP, SIGCONT, SIGTERM...) to the server."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def kill(self) -> None:
        """Kill the server at once (SIGCONT first, in case it is stopped)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(WAIT)
