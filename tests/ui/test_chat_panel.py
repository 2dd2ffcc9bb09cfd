"""The chat panel against the message API contract (docs/ui.md).

A real node serves the page, contacts, presence and the event socket; the
message endpoints are routed to the in-memory contract fake and events are
injected into the real event socket, so each test controls what the page
gets. ``test_chat_e2e.py`` covers chat between two real nodes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.message_contract import FakeMessages
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 10_000
HISTORY = 3000


class ChatWorld(PageWorld):
    """A server, alice's running node, bob as her contact, and a page with the fake."""

    def __init__(self, root: Path, browser: Any) -> None:
        self.sockets: list[Any] = []
        super().__init__(
            root, browser, adds=[("alice", "bob")], running=("alice",), setup=self._route
        )
        self.alice_id, self.bob_id = self.ids["alice"], self.ids["bob"]
        self.page = self.pages["alice"]
        self.page.on("dialog", lambda dialog: dialog.accept())

    def _route(self, name: str, context: Any) -> None:
        """The message endpoints go to the fake, holding bob's history; the event
        socket is proxied so that tests can inject events."""
        self.fake = FakeMessages(self.ids["alice"])
        start = time.time() - HISTORY * 60
        for i in range(HISTORY):
            sender = self.ids["alice"] if i % 3 == 0 else self.ids["bob"]
            self.fake.add(self.ids["bob"], sender, f"message number {i}", start + i * 60)
        for end in ("messages*", "typing", "read", "key-accept"):
            pattern = f"**/api/contacts/*/{end}"
            context.route(pattern, self.fake.handle)
        context.route("**/api/messages/**", self.fake.handle)
        context.route_web_socket("**/api/events", self._proxy)

    def _proxy(self, ws: Any) -> None:
        ws.connect_to_server()
        self.sockets.append(ws)

    def inject(self, event: dict[str, Any]) -> None:
        """Send an event to the page as if the node had published it."""
        self.sockets[-1].send(json.dumps(event))


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatWorld]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        world = ChatWorld(tmp_path_factory.mktemp("chat"), browser)
        page = world.page
        page.locator(f"#contacts li[data-id='{world.bob_id}'] button").click()
        expect(page.locator("#messages .msg").last).to_contain_text(
            f"message number {HISTORY - 1}", timeout=WAIT_MS
        )
        yield world
        world.close()
        browser.close()


def rows(chat: ChatWorld) -> Any:
    return chat.page.locator("#messages .msg")


def test_history_loads_older_pages_when_scrolled_up(chat: ChatWorld) -> None:
    page = chat.page
    expect(rows(chat)).to_have_count(50)
    for pages in (2, 3, 4):
        page.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
        expect(rows(chat)).to_have_count(50 * pages, timeout=WAIT_MS)
    first = HISTORY - 200
    expect(rows(chat).first).to_contain_text(f"message number {first}")
    expect(page.locator("#messages .msg", has_text=f"message number {first + 50}")).to_be_visible()


def test_sending_shows_queued_then_delivered(chat: ChatWorld) -> None:
    page = chat.page
    page.fill("#composer-text", "hello bob")
    page.keyboard.press("Enter")
    mine = rows(chat).last
    expect(mine).to_contain_text("hello bob", timeout=WAIT_MS)
    expect(mine.locator(".state")).to_contain_text("queued")
    sent = ("POST", f"/api/contacts/{chat.bob_id}/messages", {"text": "hello bob"})
    assert sent in chat.fake.calls
    mid = mine.get_attribute("data-id")
    chat.inject({"type": "message_state", "contact": chat.bob_id, "id": mid, "state": "delivered"})
    expect(mine.locator(".state")).to_contain_text("delivered", timeout=WAIT_MS)


def test_typing_indicator_then_incoming_message(chat: ChatWorld) -> None:
    page = chat.page
    chat.inject({"type": "typing", "contact": chat.bob_id, "typing": True})
    expect(page.locator("#typing")).to_have_text("bob is typing…", timeout=WAIT_MS)
    message = chat.fake.add(chat.bob_id, chat.bob_id, "hi alice!", time.time())
    chat.inject({"type": "message", "contact": chat.bob_id, "message": message})
    expect(rows(chat).last).to_contain_text("hi alice!", timeout=WAIT_MS)
    expect(page.locator("#typing")).to_have_text("")


def test_a_message_that_came_through_the_mailbox_says_so(chat: ChatWorld) -> None:
    direct = chat.fake.add(chat.bob_id, chat.bob_id, "said directly", time.time())
    chat.inject({"type": "message", "contact": chat.bob_id, "message": direct})
    boxed = chat.fake.add(chat.bob_id, chat.bob_id, "left while apart", time.time())
    boxed["via"] = "mailbox"
    chat.inject({"type": "message", "contact": chat.bob_id, "message": boxed})
    expect(rows(chat).last).to_contain_text("left while apart", timeout=WAIT_MS)
    expect(rows(chat).last.locator(".via")).to_have_text("via mailbox")
    said = chat.page.locator("#messages .msg", has_text="said directly")
    expect(said.locator(".via")).to_have_count(0)


def test_typing_in_the_composer_tells_the_node(chat: ChatWorld) -> None:
    page = chat.page
    page.fill("#composer-text", "")
    with page.expect_request(lambda r: r.url.endswith("/typing"), timeout=WAIT_MS) as sent:
        page.locator("#composer-text").press_sequentially("abc")
    assert sent.value.method == "POST"
    assert f"/api/contacts/{chat.bob_id}/typing" in sent.value.url
    page.fill("#composer-text", "")


def test_edit_react_and_delete_own_message(chat: ChatWorld) -> None:
    page = chat.page
    page.fill("#composer-text", "to be edited")
    page.keyboard.press("Enter")
    mine = rows(chat).last
    expect(mine).to_contain_text("to be edited", timeout=WAIT_MS)
    mine.hover()
    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Edit message")
    box.fill("edited text")
    box.press("Enter")
    expect(rows(chat).last).to_contain_text("edited text", timeout=WAIT_MS)
    expect(rows(chat).last.locator(".edited")).to_be_visible()
    rows(chat).last.hover()
    rows(chat).last.get_by_role("button", name="Add reaction").click()
    page.get_by_role("button", name="React with 👍").click()
    chip = rows(chat).last.locator(".reaction")
    expect(chip).to_have_text("👍 1", timeout=WAIT_MS)
    expect(chip).to_have_attribute("aria-pressed", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"))
    chip.click()
    expect(rows(chat).last.locator(".reaction")).to_have_count(0, timeout=WAIT_MS)
    rows(chat).last.hover()
    rows(chat).last.get_by_role("button", name="Delete").click()
    expect(rows(chat).last).to_contain_text("This message was deleted.", timeout=WAIT_MS)


def test_incoming_messages_on_screen_are_reported_read(chat: ChatWorld) -> None:
    page = chat.page
    message = chat.fake.add(chat.bob_id, chat.bob_id, "read me", time.time())
    with page.expect_request(lambda r: r.url.endswith("/read"), timeout=WAIT_MS) as sent:
        chat.inject({"type": "message", "contact": chat.bob_id, "message": message})
    assert json.loads(sent.value.post_data or "{}") == {"ids": [message["id"]]}


def test_key_change_notice_offers_to_accept_the_new_key(chat: ChatWorld) -> None:
    page = chat.page
    notice = "bob's identity key changed: compare safety numbers, then accept it"
    chat.inject(
        {"type": "chat_notice", "contact": chat.bob_id, "code": "key_changed",
         "reason": "", "message": notice}
    )  # fmt: skip
    expect(page.locator("#chat-notice-text")).to_have_text(notice, timeout=WAIT_MS)
    accept = page.get_by_role("button", name="Accept the new key")
    with page.expect_request(lambda r: r.url.endswith("/key-accept"), timeout=WAIT_MS):
        accept.click()
    expect(page.locator("#chat-notice")).to_be_hidden()


def test_keyboard_reaches_a_message_and_its_actions(chat: ChatWorld) -> None:
    page = chat.page
    page.focus("#messages")
    page.keyboard.press("End")
    last = rows(chat).last
    expect(last).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(rows(chat).nth(-2)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(last).to_be_focused()
    page.keyboard.press("Tab")
    expect(last.get_by_role("button", name="Add reaction")).to_be_focused()
