"""The search box: a real node with 5,000 stored messages, searched from the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith.account import open_store
from kith.chat import Message, MessageState, Party
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.nodes import PASSPHRASE, add_contact
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 10_000
HISTORY = 5000
BOB = "aoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4f4ked"


def _fill(path: Path) -> None:
    start = int(time.time() * 1000) - HISTORY * 60_000
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store, store.transaction():
        for i in range(HISTORY):
            text = f"routine message number {i}"
            if i == 1234:
                text = "the zeppelin lands at noon"
            who = Party.ME if i % 2 else Party.PEER
            message = Message(f"{i:032x}", who, text, start + i * 60_000, MessageState.SENT, i + 1)
            store.messages.put(BOB, message)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        world = PageWorld(
            tmp_path_factory.mktemp("search"), browser, ("alice",), running=(), pages=()
        )
        add_contact(world.dirs["alice"], BOB, "bob")
        _fill(world.dirs["alice"])
        world.start("alice")
        yield world.sign_in("alice")
        world.close()
        browser.close()


def test_search_finds_a_message_among_five_thousand(page: Any) -> None:
    started = time.monotonic()
    page.fill("#search", "zeppelin")
    hit = page.locator("#search-results li")
    expect(hit).to_have_count(1, timeout=WAIT_MS)
    assert time.monotonic() - started < 3.0
    expect(hit).to_contain_text("the zeppelin lands at noon")
    expect(hit).to_contain_text("bob")
    page.screenshot(path=str(ARTIFACTS / "search-1280.png"))


def test_choosing_a_result_opens_the_conversation(page: Any) -> None:
    page.fill("#search", "zeppelin")
    page.locator("#search-results li button").first.click()
    expect(page.locator("#chat")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#search-results")).to_be_hidden()


def test_a_search_with_no_match_says_so(page: Any) -> None:
    page.fill("#search", "quokka")
    expect(page.locator("#search-note")).to_have_text("No messages found", timeout=WAIT_MS)
    expect(page.locator("#search-results")).to_be_hidden()


def test_unsearchable_text_shows_the_reason(page: Any) -> None:
    page.fill("#search", "!!!")
    expect(page.locator("#search-note")).to_contain_text("at least one word", timeout=WAIT_MS)
