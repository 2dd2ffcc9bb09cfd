"""Time from a node restart to an open page showing the state that follows.

Run: ``.venv/bin/python bench/bench_ui_restart.py`` (or ``make bench``).
A real ``kith-signal``, a real ``kith run`` and headless Chromium: the page is
signed in, the node is stopped (SIGTERM) and started again on the same data
directory. Measured per cycle: the node's start-up (process spawned to local
API ready, on the same port thanks to ``ui_port``), and process spawned to
the same open page showing fresh state (a contact renamed while the node was
down; a clean stop keeps the browser session, docs/ui.md).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from benchlib import report, summary_ms
from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

CYCLES = 5
WAIT_MS = 20_000
BOB = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4f4ked"


def _cycle(
    home: Path, page: Any, node: NodeProcess, name: str
) -> tuple[NodeProcess, dict[str, float]]:
    node.stop()
    expect(page.locator("body")).to_have_attribute("data-node-lost", "true", timeout=WAIT_MS)
    ok(kith(home, "contacts", "rename", BOB, name))  # changed while the node is down
    started = time.perf_counter()
    again = NodeProcess(home, *HEARTBEAT_FLAGS)
    ready = time.perf_counter() - started
    assert again.info.port == node.info.port
    expect(page.locator("#contacts li")).to_contain_text(name, timeout=WAIT_MS)
    fresh = time.perf_counter() - started
    return again, {"ready": ready, "fresh": fresh}


def main() -> None:
    samples: dict[str, list[float]] = {"ready": [], "fresh": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        home = Path(tmp) / "alice"
        server = SignalProcess(*HEARTBEAT_FLAGS)
        make_identity(home, "alice", server.url)
        ok(kith(home, "contacts", "add", BOB, "--name", "bob"))
        browser = launch_chromium(playwright)
        context = new_context(browser)
        node = NodeProcess(home, *HEARTBEAT_FLAGS)
        page = sign_in(context, node)
        expect(page.locator("#contacts li")).to_have_count(1, timeout=WAIT_MS)
        try:
            for cycle in range(CYCLES):
                node, times = _cycle(home, page, node, f"bob {cycle}")
                for key, value in times.items():
                    samples[key].append(value)
        finally:
            node.stop()
            context.close()
            browser.close()
            server.stop()
    labels = {
        "ready": "restart to local API ready (same port)",
        "fresh": "restart to the open page showing fresh state",
    }
    rows = [{"measure": labels[k], **summary_ms(v)} for k, v in samples.items()]
    report("ui_restart", rows, {"cycles": CYCLES})


if __name__ == "__main__":
    main()
