"""Chat between two real nodes through two browser pages: typing indicator,
message, delivery state, reaction and edit, all over real WebRTC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.node_api import http_get
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 15_000


class Pair(PageWorld):
    """A server, alice's and bob's nodes, and a signed-in page for each."""

    def messaging(self) -> bool:
        info = self.nodes["alice"].info
        path = f"/api/contacts/{self.ids['bob']}/messages?limit=1"
        return http_get(info, path, {"Authorization": f"Bearer {info.token}"})[0] == 200


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        world = Pair(tmp_path_factory.mktemp("chat-e2e"), browser)
        if not world.messaging():
            world.close()
            pytest.fail("the node does not serve the message API")
        world.wait_online("alice", "bob", WAIT_MS)
        world.wait_online("bob", "alice", WAIT_MS)
        yield world
        world.close()
        browser.close()


def last_message(page: Any) -> Any:
    return page.locator("#messages .msg").last


def test_typing_indicator_then_the_message(pair: Pair) -> None:
    alice = pair.open_chat("alice", "bob")
    bob = pair.open_chat("bob", "alice")
    bob.fill("#composer-text", "hi alice")  # opens the data channel
    bob.keyboard.press("Enter")
    expect(last_message(alice)).to_contain_text("hi alice", timeout=WAIT_MS)
    expect(last_message(bob).locator(".state")).to_contain_text("delivered", timeout=WAIT_MS)
    alice.locator("#composer-text").press_sequentially("hello b")
    expect(bob.locator("#typing")).to_have_text("alice is typing…", timeout=WAIT_MS)
    alice.locator("#composer-text").press_sequentially("ob")
    alice.keyboard.press("Enter")
    expect(last_message(bob)).to_contain_text("hello bob", timeout=WAIT_MS)
    expect(bob.locator("#typing")).to_have_text("")
    expect(last_message(alice).locator(".state")).to_contain_text("delivered", timeout=WAIT_MS)


def test_reaction_and_edit_show_on_the_other_page(pair: Pair) -> None:
    alice = pair.open_chat("alice", "bob")
    bob = pair.open_chat("bob", "alice")
    bob.fill("#composer-text", "see you at 5")
    bob.keyboard.press("Enter")
    expect(last_message(alice)).to_contain_text("see you at 5", timeout=WAIT_MS)
    theirs = alice.locator("#messages .msg", has_text="hello bob")
    mine_on_bob = bob.locator("#messages .msg", has_text="hello bob")
    mine_on_bob.hover()
    mine_on_bob.get_by_role("button", name="Add reaction").click()
    bob.get_by_role("button", name="React with 👍").click()
    expect(theirs.locator(".reaction")).to_have_text("👍 1", timeout=WAIT_MS)
    mid = bob.locator("#messages .msg", has_text="see you at 5").get_attribute("data-id")
    sent = bob.locator(f"#messages .msg[data-id='{mid}']")
    sent.hover()
    sent.get_by_role("button", name="Edit").click()
    box = sent.get_by_label("Edit message")
    box.fill("see you at 6")
    box.press("Enter")
    edited = alice.locator("#messages .msg", has_text="see you at 6")
    expect(edited).to_be_visible(timeout=WAIT_MS)
    expect(edited.locator(".edited")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "ui-chat-alice.png"))
    bob.screenshot(path=str(ARTIFACTS / "ui-chat-bob.png"))
