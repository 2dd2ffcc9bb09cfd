"""``kith demo --no-browser`` as a user runs it: two nodes that see each other,
then Ctrl-C (SIGINT) stops everything and deletes the demo's data."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
LINK = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/login#code=\S+)$")


class Demo:
    """The ``kith demo`` process with its output collected."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith.cli.main", "demo", "--no-browser"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def links(self) -> list[str] | None:
        assert self.proc.poll() is None, "\n".join(self.lines)
        found = [m.group(1) for m in map(LINK.match, list(self.lines)) if m]
        return found if len(found) == 2 else None

    def children(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids


def signed_in(link: str) -> tuple[http.client.HTTPConnection, dict[str, str]]:
    """Redeem a sign-in link; return a connection and the session headers."""
    parts = urlsplit(link)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    code = json.dumps({"code": parts.fragment.removeprefix("code=")})
    conn.request("POST", "/api/sessions", body=code, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 201, body
    return conn, {"X-Kith-Session": json.loads(body)["session"], "Host": parts.netloc}


def contacts(conn: http.client.HTTPConnection, headers: dict[str, str]) -> list[dict[str, str]]:
    conn.request("GET", "/api/contacts", headers=headers)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    value: list[dict[str, str]] = json.loads(body)
    return value


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")
def test_demo_runs_two_nodes_that_see_each_other_and_stops_cleanly() -> None:
    demo = Demo()
    try:
        links = wait_for(demo.links, "both UI links", timeout=60)
        folder = next(line.split(": ", 1)[1] for line in demo.lines if "Demo data" in line)
        sessions = [signed_in(link) for link in links]

        def both_online() -> bool | None:
            seen = [contacts(conn, headers) for conn, headers in sessions]
            return True if all(c and c[0]["status"] == "online" for c in seen) else None

        wait_for(both_online, "alice and bob to see each other online", timeout=15)
        children = demo.children()
        assert len(children) == 3  # the server and two nodes
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(30) == 0, "\n".join(demo.lines)
    finally:
        if demo.proc.poll() is None:  # a failed step: stop it the way a user would
            demo.proc.send_signal(signal.SIGTERM)
            try:
                demo.proc.wait(30)
            except subprocess.TimeoutExpired:
                demo.proc.kill()
                demo.proc.wait(10)
    demo.reader.join(5)
    assert "Demo stopped" in demo.lines[-1]
    assert not Path(folder).exists()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
