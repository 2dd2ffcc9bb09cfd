"""Headless Debian Chromium driven by Playwright (sync API), signed in to a node's UI.

Processes come from :mod:`kith_testkit.nodes` and :mod:`kith_testkit.signal.process`;
this module adds the browser and the sign-in step (a fresh one-time login URL per
page), and where screenshots go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from kith.cli.open import new_login_url
from kith_testkit.nodes import NodeProcess

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
MEDIA_ARGS: Final = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
    "--autoplay-policy=no-user-gesture-required",
]
"""For calls: a fake camera and microphone (a test pattern and a beep), permission
prompts granted, and screen capture picking the whole screen without a prompt."""
ARTIFACTS: Final = Path(__file__).resolve().parents[2] / "test-artifacts"


def launch_chromium(playwright: Any, *, media: bool = False) -> Any:
    """Headless Debian Chromium (Playwright cannot download its own browser here).

    Each user gets a fresh, isolated context from :func:`new_context` (its own
    cookies and storage, like a fresh profile). ``media`` adds :data:`MEDIA_ARGS`.
    """
    args = CHROMIUM_ARGS + (MEDIA_ARGS if media else [])
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


READY_MS = 30_000


def new_context(browser: Any) -> Any:
    """A fresh browser context: its own cookies and storage."""
    return browser.new_context(viewport={"width": 1200, "height": 760}, color_scheme="dark")


def sign_in(context: Any, node: NodeProcess) -> Any:
    """Open a new page on ``node``'s UI through a fresh one-time login URL."""
    page = context.new_page()
    page.goto(new_login_url(node.info))
    # Generous: on a busy two-core machine (two test workers, each with its nodes
    # and a browser) a first page load has taken more than 10 s.
    page.wait_for_selector("body[data-ready='true']", timeout=READY_MS)
    return page
