"""Desktop notifications for contact requests, in headless Chromium against real
nodes: shown in a hidden tab, never while busy, nameless when private."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.page_controls import (
    VISIBILITY_AND_SPY,
    WAIT_MS,
    notes,
    set_hidden,
    set_setting,
)
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow


class World:
    """A server; bob (with a page) and three strangers who will ask to add him."""

    def __init__(self, root: Path, browser: Any) -> None:
        self.server = SignalProcess(*HEARTBEAT_FLAGS)
        names = ("bob", "carol", "dave", "erin")
        self.dirs = {n: root / n for n in names}
        self.ids = {n: make_identity(p, n.title(), self.server.url) for n, p in self.dirs.items()}
        self.nodes = {n: NodeProcess(p, *HEARTBEAT_FLAGS) for n, p in self.dirs.items()}
        context = new_context(browser)
        context.grant_permissions(["notifications"])
        context.add_init_script(VISIBILITY_AND_SPY)
        self.page = sign_in(context, self.nodes["bob"])

    def ask(self, sender: str) -> None:
        ok(kith(self.dirs[sender], "contacts", "add", self.ids["bob"]))
        row = self.page.locator(f"#requests li[data-id='{self.ids[sender]}']")
        expect(row).to_be_visible(timeout=WAIT_MS)

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


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
