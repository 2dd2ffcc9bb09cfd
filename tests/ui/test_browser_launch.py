"""``kith run`` opens the browser without the sign-in code on any command line.

The browser is a small recorder script (``BROWSER``), which saves what the
launched process itself could show to other local users: its
``/proc/self/cmdline`` and ``/proc/self/environ``, and the page it was given.
Then headless Chromium opens that page and lands signed in.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from kith.signin_page import SIGNIN_FOLDER
from kith_testkit.browser import launch_chromium, new_context
from kith_testkit.nodes import kith_env, make_identity
from kith_testkit.polling import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc"),
]
LINK = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/login#code=(\S+))$")
RECORDER = """#!{python}
import json, os, pathlib, stat, sys, urllib.parse
page = pathlib.Path(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[-1]).path))
record = {{
    "argv": sys.argv,
    "cmdline": pathlib.Path("/proc/self/cmdline").read_bytes().decode("utf-8", "replace"),
    "environ": pathlib.Path("/proc/self/environ").read_bytes().decode("utf-8", "replace"),
    "mode": stat.S_IMODE(page.stat().st_mode),
    "page": page.read_text(),
}}
out = pathlib.Path({out!r})
out.with_suffix(".tmp").write_text(json.dumps(record))
os.replace(out.with_suffix(".tmp"), out)
"""


class Launched:
    """``kith run`` (browser on) with a recording browser; its output collected."""

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "alice"
        make_identity(self.data_dir, "alice", "ws://127.0.0.1:9")
        self.record = root / "record.json"
        recorder = root / "browser.py"
        recorder.write_text(RECORDER.format(python=sys.executable, out=str(self.record)))
        recorder.chmod(0o700)
        env = kith_env(BROWSER=str(recorder), DISPLAY=":99")
        argv = [sys.executable, "-m", "kith.cli.main", "--data-dir", str(self.data_dir), "run"]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=env
        )
        self.lines: list[str] = []

    def link(self) -> re.Match[str]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            match = LINK.match(line.rstrip("\n"))
            if match:
                return match
        raise AssertionError("kith run printed no link:\n" + "".join(self.lines))

    def recorded(self) -> dict[str, Any]:
        wait_for(lambda: self.record.exists() or None, "the browser to be launched")
        value: dict[str, Any] = json.loads(self.record.read_text())
        return value

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    run = Launched(tmp_path)
    yield run
    run.stop()


def test_the_launched_browser_sees_no_code_and_an_owner_only_page(launched: Launched) -> None:
    url, code = launched.link().groups()
    seen = launched.recorded()
    assert seen["argv"][-1].startswith("file://")
    for where in ("cmdline", "environ"):
        assert code not in seen[where]
    assert not any(code in arg for arg in seen["argv"])
    assert seen["mode"] == 0o600
    assert url in seen["page"]  # the page hands the link over
    page = Path(unquote(urlsplit(seen["argv"][-1]).path))
    assert page.parent == launched.data_dir / SIGNIN_FOLDER
    assert oct(os.stat(page.parent).st_mode & 0o777) == oct(0o700)


def test_the_page_signs_the_browser_in_and_goes_when_the_node_stops(
    launched: Launched,
) -> None:
    launched.link()
    target = launched.recorded()["argv"][-1]
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            page = new_context(chromium).new_page()
            page.goto(target)
            expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=10_000)
            assert page.url.startswith("http://127.0.0.1:")
        finally:
            chromium.close()
    assert launched.stop() == 0
    assert not (launched.data_dir / SIGNIN_FOLDER).exists()
