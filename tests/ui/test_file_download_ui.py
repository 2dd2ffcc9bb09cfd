"""The page's Download button is a plain browser download of a one-time link
(streamed to disk by the browser, never a blob held in the page): one real
node, a real headless Chromium."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 30_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[PageWorld]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        world = PageWorld(tmp_path, browser, running=("alice",))  # bob stays offline
        yield world
        world.close()
        browser.close()


def test_the_download_button_saves_the_exact_bytes_through_a_one_time_link(
    world: PageWorld, tmp_path: Path
) -> None:
    data = os.urandom(2 * 1024 * 1024 + 7)
    source = tmp_path / "report <final>.pdf"
    source.write_bytes(data)
    page = world.open_chat("alice", "bob")
    page.set_input_files("#composer-file", str(source))
    card = page.locator("#messages .msg.mine .file-card").last
    expect(card.locator(".file-name")).to_have_text("report _final_.pdf", timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as caught:
        card.locator(".file-download").click()
    download = caught.value
    base = world.nodes["alice"].info
    assert download.url.startswith(f"http://{base.host}:{base.port}/api/downloads/")
    assert download.suggested_filename == "report _final_.pdf"
    saved = tmp_path / "saved.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == data
    # the link was good once
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(download.url, timeout=10)
    assert refused.value.code == 403
