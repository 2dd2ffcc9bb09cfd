"""A node whose signaling URL is spelled differently from the server's public URL:
the page's banner names both URLs, and the node keeps retrying."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, make_identity
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow
WAIT_MS = 15_000


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[Any, SignalProcess, str, NodeProcess]]:
    server = SignalProcess(*HEARTBEAT_FLAGS)
    dialled = server.url.replace("127.0.0.1", "localhost")
    make_identity(tmp_path / "alice", "alice", dialled)
    node = NodeProcess(tmp_path / "alice", *HEARTBEAT_FLAGS)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = new_context(browser)
        yield sign_in(context, node), server, dialled, node
        context.close()
        browser.close()
    node.stop()
    server.stop()


def test_the_banner_names_the_url_dialled_and_the_one_expected(
    page: tuple[Any, SignalProcess, str, NodeProcess],
) -> None:
    tab, server, dialled, node = page
    banner = tab.locator("#banner")
    expect(banner).to_contain_text("refused the sign-in", timeout=WAIT_MS)
    expect(banner).to_contain_text(f"this one is {server.url}")
    expect(banner).to_contain_text(f"we dialled {dialled}")
    expect(banner).to_contain_text("Retrying")
    tab.screenshot(path=str(ARTIFACTS / "wrong-server-1280.png"))

    def warning() -> list[str] | None:
        return [line for line in node.lines if "refused our sign-in" in line] or None

    warned = wait_for(warning, "the node's warning")
    assert len(warned) == 1  # once, however many retries
    assert server.url in warned[0]
    assert dialled in warned[0]
