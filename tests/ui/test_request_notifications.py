"""Desktop notifications for contact requests, in headless Chromium against real
nodes: shown in a hidden tab, never while busy, nameless when private."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium
from kith_testkit.nodes import kith, ok
from kith_testkit.page_controls import (
    VISIBILITY_AND_SPY,
    WAIT_MS,
    notes,
    set_hidden,
    set_setting,
)
from kith_testkit.page_world import PageWorld, notifying_page
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


class World(PageWorld):
    """A server; bob (with a page) and three strangers who will ask to add him."""

    def __init__(self, root: Path, browser: Any) -> None:
        names = ("bob", "carol", "dave", "erin")
        super().__init__(
            root,
            browser,
            names,
            adds=[],
            pages=("bob",),
            setup=notifying_page(VISIBILITY_AND_SPY),
            shown={n: n.title() for n in names},
        )
        self.page = self.pages["bob"]

    def ask(self, sender: str) -> None:
        ok(kith(self.dirs[sender], "contacts", "add", self.ids["bob"]))
        row = self.page.locator(f"#requests li[data-id='{self.ids[sender]}']")
        expect(row).to_be_visible(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        built = World(tmp_path_factory.mktemp("requests"), browser)
        yield built
        built.close()
        browser.close()


def test_a_request_in_a_hidden_tab_shows_a_notification(world: World) -> None:
    set_hidden(world.page, True)
    before = len(notes(world.page))
    world.ask("carol")
    found = wait_for(lambda: notes(world.page)[before:] or None, "a notification", WAIT_MS / 1000)
    assert found == [{"title": "Contact request", "body": "Carol wants to add you"}]
    set_hidden(world.page, False)


def test_a_request_while_busy_shows_no_notification(world: World) -> None:
    page = world.page
    page.select_option("#own-status", "busy")
    expect(page.locator("body")).to_have_attribute("data-quiet", "true", timeout=WAIT_MS)
    set_hidden(page, True)
    before = len(notes(page))
    world.ask("dave")
    assert len(notes(page)) == before
    set_hidden(page, False)
    page.select_option("#own-status", "online")
    expect(page.locator("body")).to_have_attribute("data-quiet", "false", timeout=WAIT_MS)


def test_a_private_request_notification_names_nobody(world: World) -> None:
    page = world.page
    set_setting(page, "notifications_private", True)
    set_hidden(page, True)
    before = len(notes(page))
    world.ask("erin")
    found = wait_for(lambda: notes(page)[before:] or None, "a notification", WAIT_MS / 1000)
    assert found == [{"title": "Contact request", "body": "Open Kith to answer it"}]
    set_hidden(page, False)
