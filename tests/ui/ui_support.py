"""Test support for the web UI: a real ``kith-signal``, real ``kith run`` nodes,
headless Debian Chromium driven by Playwright (sync API).

Processes come from the node and signal test helpers; this module adds the
browser and the sign-in step (a fresh one-time login URL per page).
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "node"))
sys.path.insert(0, str(HERE.parent / "signal"))

from node_support import NodeProcess, kith, make_identity, ok  # noqa: E402
from signal_support import SignalProcess  # noqa: E402

from kith.cli.open import new_login_url  # noqa: E402
from kith.runtime.runtime_file import RuntimeInfo  # noqa: E402

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "HEARTBEAT_FLAGS",
    "NodeProcess",
    "SignalProcess",
    "http_get",
    "kith",
    "launch_chromium",
    "make_identity",
    "new_context",
    "ok",
    "sign_in",
]

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS: Final = HERE.parent.parent / "test-artifacts"
HEARTBEAT_FLAGS: Final = ("--heartbeat-interval", "0.5", "--heartbeat-timeout", "1.0")


def launch_chromium(playwright: Any) -> Any:
    """Headless Debian Chromium (Playwright cannot download its own browser here).

    Each user gets a fresh, isolated context from :func:`new_context` (its own
    cookies and storage, like a fresh profile).
    """
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def new_context(browser: Any) -> Any:
    """A fresh browser context: its own cookies and storage."""
    return browser.new_context(viewport={"width": 1200, "height": 760}, color_scheme="dark")


def sign_in(context: Any, node: NodeProcess) -> Any:
    """Open a new page on ``node``'s UI through a fresh one-time login URL."""
    page = context.new_page()
    page.goto(new_login_url(node.info))
    page.wait_for_selector("body[data-ready='true']", timeout=10_000)
    return page


def http_get(
    info: RuntimeInfo, path: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A raw GET to the node (status, headers, body), Host set as a browser would."""
    conn = http.client.HTTPConnection(info.host, info.port, timeout=5)
    try:
        sent = {"Host": f"{info.host}:{info.port}", **(headers or {})}
        conn.request("GET", path, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
