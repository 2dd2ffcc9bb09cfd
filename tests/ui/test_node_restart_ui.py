"""An open page across its node's restart: stale presence is dimmed while the node is
gone; the node comes back on the same port; after a clean stop the session was kept
(its hash) and the page carries on with fresh state; after a crash it says a new
sign-in is needed (docs/ui.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, ok
from kith_testkit.page_world import PageWorld
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow
WAIT_MS = 15_000
BOB = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4f4ked"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, SignalProcess, Any]]:
    """Alice's identity (bob her one contact) and the server; each test runs,
    stops and restarts her node itself."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        built = PageWorld(tmp_path, browser, ("alice",), adds=[], running=(), pages=())
        ok(kith(built.dirs["alice"], "contacts", "add", BOB, "--name", "bob"))
        yield built.dirs["alice"], built.server, browser
        built.close()
        browser.close()


def _signed_in(home: Path, browser: Any) -> tuple[NodeProcess, Any, Any]:
    """A running node and a page signed in to it, showing its one contact."""
    node = NodeProcess(home, *HEARTBEAT_FLAGS)
    context = new_context(browser)
    page = sign_in(context, node)
    expect(page.locator("#contacts li")).to_have_count(1, timeout=WAIT_MS)
    return node, context, page


def test_a_page_across_a_clean_restart_carries_on_with_fresh_state(
    world: tuple[Path, SignalProcess, Any],
) -> None:
    home, _, browser = world
    node, context, page = _signed_in(home, browser)
    port = node.info.port

    node.stop()  # SIGTERM: a clean stop keeps the session (only its hash)
    expect(page.locator("body")).to_have_attribute("data-node-lost", "true", timeout=WAIT_MS)
    expect(page.locator("#banner")).to_contain_text("Lost contact with your Kith node")
    ok(kith(home, "contacts", "rename", BOB, "robert"))  # changed while the node was down

    started = time.monotonic()
    again = NodeProcess(home, *HEARTBEAT_FLAGS)
    try:
        assert again.info.port == port  # the same address: the open tab finds it
        expect(page.locator("#contacts li")).to_contain_text("robert", timeout=WAIT_MS)
        elapsed = time.monotonic() - started
        expect(page.locator("body")).to_have_attribute("data-node-lost", "false")
        expect(page.locator("#banner")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "node-restarted-1280.png"))
        assert elapsed < 15
    finally:
        context.close()
        again.stop()


def test_a_page_across_a_crash_asks_for_a_new_sign_in(
    world: tuple[Path, SignalProcess, Any],
) -> None:
    home, _, browser = world
    node, context, page = _signed_in(home, browser)

    node.kill()  # no clean stop: no session is kept
    expect(page.locator("body")).to_have_attribute("data-node-lost", "true", timeout=WAIT_MS)
    again = NodeProcess(home, *HEARTBEAT_FLAGS)
    try:
        body = page.locator("body")
        expect(body).to_have_attribute("data-signed-out", "restarted", timeout=WAIT_MS)
        expect(page.locator("#banner")).to_contain_text("Your Kith node restarted")
        expect(page.locator("#banner")).to_contain_text("kith open")
        fresh = sign_in(context, again)  # what `kith open` gives: a new sign-in link
        expect(fresh.locator("#contacts li")).to_have_count(1, timeout=WAIT_MS)
        expect(fresh.locator("#banner")).to_be_hidden()
    finally:
        context.close()
        again.stop()


def test_an_expired_session_without_a_restart_still_says_not_signed_in(
    world: tuple[Path, SignalProcess, Any],
) -> None:
    home, _, browser = world
    node = NodeProcess(home, *HEARTBEAT_FLAGS)
    context = new_context(browser)
    try:
        page = sign_in(context, node)
        page.evaluate("sessionStorage.clear()")
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-signed-out", "true", timeout=WAIT_MS)
        expect(page.locator("#banner")).to_contain_text("Not signed in")
    finally:
        context.close()
        node.stop()
