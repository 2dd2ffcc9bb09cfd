"""Web UI benchmarks: ``kith run`` to the UI answering, presence event to the
page's DOM, and the page's load size.

Run: ``.venv/bin/python bench/bench_ui.py`` (or ``make bench``). Real parts
throughout: a real ``kith-signal``, real ``kith run`` processes (production
Argon2id parameters for the start-up case), headless Debian Chromium.

- *start-up*: from spawning ``kith run --no-browser`` to the signed-in API answering
  200 through the printed one-time link (process start, unlock, store, API).
- *presence to DOM*: alice's node gets ``PUT /api/status``; bob's page
  records, with a MutationObserver, when alice's row shows the new status.
  Both clocks are this machine's wall clock (``performance.timeOrigin +
  performance.now()`` in the page, ``time.time()`` here).
- *page load*: bytes and requests of every asset the app page loads (HTML, CSS,
  JS, icon), and time to interactive: from a reload of the signed-in page to
  ``body[data-ready='true']`` (contacts, status and settings loaded).

``--page-load`` runs only the page-load case (to compare the UI before and
after a change to its files).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchlib import percentile, report, summary_ms
from kith.account import create_account
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.store.store import Store
from kith.ui import STATIC_DIR
from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

STARTS = 5
CHANGES = 40
LOADS = 10
PASSPHRASE = "benchmark passphrase"
LINK = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/login#code=\S+)$")


def _production_identity(path: Path, server_url: str) -> None:
    def populate(store: Store) -> None:
        store.settings.set("signaling_url", server_url, time.time())

    env_profile = os.environ.pop("KITH_ARGON2_PROFILE", None)
    try:
        create_account(
            DataDir(path),
            name="bench",
            protection=Protection.PASSPHRASE,
            passphrases=FixedPassphrase(PASSPHRASE),
            populate=populate,
        )
    finally:
        if env_profile is not None:
            os.environ["KITH_ARGON2_PROFILE"] = env_profile


def _wait_link(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        match = LINK.match(line.rstrip("\n"))
        if match:
            return match.group(1)
    raise RuntimeError("kith run exited without printing its link")


def _get_page(link: str) -> int:
    parts = urlsplit(link)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        code = parts.fragment.removeprefix("code=")
        headers = {"Content-Type": "application/json"}
        conn.request("POST", "/api/sessions", body=json.dumps({"code": code}), headers=headers)
        response = conn.getresponse()
        session = json.loads(response.read() or b"{}").get("session", "")
        conn.request("GET", "/api/identity", headers={"X-Kith-Session": session})
        page = conn.getresponse()
        page.read()
        return page.status
    finally:
        conn.close()


def _one_start(data_dir: Path) -> float:
    script = Path(sys.executable).parent / "kith"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env["KITH_PASSPHRASE"] = PASSPHRASE
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "--data-dir", str(data_dir), "run", "--no-browser"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        status = _get_page(_wait_link(proc))
        elapsed = time.perf_counter() - start
        assert status == 200, status
        return elapsed
    finally:
        proc.terminate()
        proc.wait(15)


def bench_startup(root: Path, server_url: str) -> dict[str, Any]:
    data_dir = root / "startup"
    _production_identity(data_dir, server_url)
    samples = [_one_start(data_dir) for _ in range(STARTS)]
    return {"case": "kith run -> UI answering (Argon2id default)", **summary_ms(samples)}


_OBSERVE = """([id, wanted]) => {
  window.__seen = new Promise((resolve, reject) => {
    const observer = new MutationObserver(() => {
      const sub = document.querySelector(`#contacts li[data-id='${id}'] .sub`);
      if (sub && sub.dataset.presence === wanted) {
        observer.disconnect();
        resolve(performance.timeOrigin + performance.now());
      }
    });
    observer.observe(document.querySelector('#contacts'),
      {subtree: true, childList: true, attributes: true});
    setTimeout(() => reject(new Error('no change within 10 s')), 10000);
  });
}"""


def bench_presence_to_dom(root: Path, server: SignalProcess, browser: Any) -> dict[str, Any]:
    ids = {n: make_identity(root / n, n, server.url) for n in ("alice", "bob")}
    ok(kith(root / "alice", "contacts", "add", ids["bob"], "--name", "bob"))
    ok(kith(root / "bob", "contacts", "add", ids["alice"], "--name", "alice"))
    alice = NodeProcess(root / "alice", *HEARTBEAT_FLAGS)
    bob = NodeProcess(root / "bob", *HEARTBEAT_FLAGS)
    try:
        page = sign_in(new_context(browser), bob)
        row = f"#contacts li[data-id='{ids['alice']}'] .sub"
        page.wait_for_selector(f"{row}[data-presence='online']", timeout=10_000)
        samples = []
        for i in range(CHANGES):
            wanted = "busy" if i % 2 == 0 else "away"
            page.evaluate(_OBSERVE, [ids["alice"], wanted])
            sent = time.time() * 1000
            alice.api.set_status(wanted)
            samples.append((page.evaluate("window.__seen") - sent) / 1000)
        return {"case": "status set on alice -> bob's page DOM", **summary_ms(samples)}
    finally:
        alice.kill()
        bob.kill()


def bench_page_size(root: Path, server: SignalProcess, browser: Any) -> dict[str, Any]:
    make_identity(root / "size", "size", server.url)
    node = NodeProcess(root / "size", *HEARTBEAT_FLAGS)
    sizes: dict[str, int] = {}
    lock = threading.Lock()
    counting = [True]
    try:
        context = new_context(browser)

        def seen(response: Any) -> None:
            path = urlsplit(response.url).path
            if counting[0] and (path == "/" or path.startswith("/static/")):
                body = response.body()
                with lock:
                    sizes[path] = len(body)

        context.on("response", seen)
        page = sign_in(context, node)
        page.wait_for_load_state("networkidle")
        counting[0] = False
        interactive = [_time_to_interactive(page) for _ in range(LOADS)]
    finally:
        node.kill()
    on_disk = sum(p.stat().st_size for p in STATIC_DIR.rglob("*") if p.is_file())
    return {
        "case": "page load (all UI assets, uncompressed)",
        "bytes": sum(sizes.values()),
        "requests": len(sizes),
        "static_dir_bytes": on_disk,
        "interactive_p50_ms": percentile(interactive, 50) * 1000,
        "interactive_p99_ms": percentile(interactive, 99) * 1000,
    }


def _time_to_interactive(page: Any) -> float:
    """Seconds from reloading the signed-in page to its ``data-ready`` mark."""
    start = time.perf_counter()
    page.reload(wait_until="commit")
    page.wait_for_selector("body[data-ready='true']", timeout=10_000)
    return time.perf_counter() - start


def main() -> None:
    from playwright.sync_api import sync_playwright

    if "--page-load" in sys.argv[1:]:
        _page_load_only(sync_playwright)
        return
    with tempfile.TemporaryDirectory(prefix="kith-bench-ui-") as tmp:
        root = Path(tmp)
        server = SignalProcess(*HEARTBEAT_FLAGS)
        try:
            rows = [bench_startup(root, server.url)]
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                rows.append(bench_presence_to_dom(root, server, browser))
                rows.append(bench_page_size(root, server, browser))
                browser.close()
        finally:
            server.stop()
    report("ui", rows, {"targets": {"startup_ms": 1500}})


def _page_load_only(sync_playwright: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="kith-bench-ui-") as tmp:
        server = SignalProcess(*HEARTBEAT_FLAGS)
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                rows = [bench_page_size(Path(tmp), server, browser)]
                browser.close()
        finally:
            server.stop()
    report("ui_page_load", rows)


if __name__ == "__main__":
    main()
