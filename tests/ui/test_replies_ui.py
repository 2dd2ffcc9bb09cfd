"""Replies in the web UI between two real nodes, in headless Chromium: the Reply
action, the quote above the composer, the quote shown on the other side, a click on
it scrolling to and highlighting the original, and a reply naming a message the
page does not have. Also screenshots of each main screen at 1280×800 and 400×800."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.node_api import call
from kith_testkit.nodes import kith, ok
from kith_testkit.page_controls import WAIT_MS, back_to_list
from kith_testkit.page_world import PageWorld, mutual

pytestmark = pytest.mark.slow
FILLER = 40


class World(PageWorld):
    """A server; alice and bob as each other's contacts, running; carol waiting to
    ask alice; a page each (alice's event socket can take injected events)."""

    def __init__(self, root: Path, browser: Any) -> None:
        self.sockets: list[Any] = []
        super().__init__(
            root,
            browser,
            ("alice", "bob", "carol"),
            adds=mutual(("alice", "bob")),
            pages=("alice", "bob"),
            setup=self._route_events,
        )

    def _route_events(self, name: str, context: Any) -> None:
        if name == "alice":
            context.route_web_socket("**/api/events", self._proxy)

    def _proxy(self, ws: Any) -> None:
        ws.connect_to_server()
        self.sockets.append(ws)

    def send(self, sender: str, to: str, text: str, reply_to: object = None) -> tuple[int, Any]:
        body: dict[str, Any] = {"text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        return call(self.nodes[sender], "POST", f"/api/contacts/{self.ids[to]}/messages", body)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        built = World(tmp_path_factory.mktemp("replies"), browser)
        built.wait_online("alice", "bob")
        built.wait_online("bob", "alice")
        ok(kith(built.dirs["carol"], "contacts", "add", built.ids["alice"]))  # a request waits
        yield built
        built.close()
        browser.close()


def reveal(row: Any) -> None:
    """Scroll ``row`` into view at once. Playwright's own scrolling first waits
    for the row to stand still, which it may never do while the list keeps
    scrolling smoothly to the newest message."""
    expect(row).to_be_attached(timeout=WAIT_MS)
    row.evaluate("(e) => e.scrollIntoView({block: 'center', behavior: 'instant'})")


def row_of(page: Any, mid: str) -> Any:
    return page.locator(f"#messages .msg[data-id='{mid}']")


def test_a_reply_shows_quoted_and_its_quote_jumps_to_the_original(world: World) -> None:
    alice, bob = world.open_chat("alice", "bob"), world.open_chat("bob", "alice")
    status, original = world.send("alice", "bob", "Lunch at noon on Friday?")
    assert status == 201
    for i in range(FILLER):  # pushes the original out of view
        assert world.send("alice", "bob", f"filler line {i}")[0] == 201
    expect(bob.locator("#messages .msg").last).to_contain_text(
        f"filler line {FILLER - 1}", timeout=WAIT_MS
    )

    target = row_of(bob, original["id"])
    reveal(target)
    target.hover()
    target.get_by_role("button", name="Reply", exact=True).click()
    expect(bob.locator("#reply-bar")).to_be_visible()
    expect(bob.locator("#reply-bar-text")).to_have_text(
        "Replying to alice: Lunch at noon on Friday?"
    )
    bob.locator("#composer-text").fill("Yes, noon works")
    bob.locator("#composer-text").press("Enter")
    expect(bob.locator("#reply-bar")).to_be_hidden()

    reply = alice.locator("#messages .msg", has_text="Yes, noon works")
    expect(reply).to_be_visible(timeout=WAIT_MS)
    quote = reply.locator(".quote")
    expect(quote).to_contain_text("Lunch at noon on Friday?")
    expect(quote).to_contain_text("alice")
    quote.click()
    highlighted = row_of(alice, original["id"])
    expect(highlighted).to_have_class("msg mine highlight", timeout=WAIT_MS)
    expect(highlighted).to_be_in_viewport()
    stored = json.loads(ok(kith(world.dirs["alice"], "messages", "bob", "--json", "--limit", "1")))
    assert stored[0]["reply_to"] == original["id"]


def test_escape_cancels_a_reply_and_the_message_goes_out_plain(world: World) -> None:
    bob = world.open_chat("bob", "alice")
    last = bob.locator("#messages .msg").last
    last.hover()
    last.get_by_role("button", name="Reply", exact=True).click()
    expect(bob.locator("#reply-bar")).to_be_visible()
    bob.locator("#composer-text").press("Escape")
    expect(bob.locator("#reply-bar")).to_be_hidden()
    bob.locator("#composer-text").fill("not a reply")
    bob.locator("#composer-text").press("Enter")
    sent = bob.locator("#messages .msg", has_text="not a reply")
    expect(sent).to_be_visible(timeout=WAIT_MS)
    expect(sent.locator(".quote")).to_have_count(0)


def test_a_reply_to_a_message_the_page_lacks_says_original_not_available(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    mid, absent = "9" * 32, "8" * 32
    message = {
        "id": mid, "from": world.ids["bob"], "text": "about that old thing",
        "sent_at": 1_764_000_000.0, "state": "received", "edited": False, "deleted": False,
        "reactions": {}, "reply_to": absent,
    }  # fmt: skip
    world.sockets[-1].send(
        json.dumps({"type": "message", "contact": world.ids["bob"], "message": message})
    )
    row = row_of(alice, mid)
    expect(row.locator(".quote.missing")).to_have_text("↪ Original not available", timeout=WAIT_MS)
    assert row.locator("button.quote").count() == 0


def test_the_api_refuses_a_reply_to_an_unknown_or_malformed_id(world: World) -> None:
    before = json.loads(ok(kith(world.dirs["bob"], "messages", "alice", "--json", "--limit", "1")))
    status, body = world.send("bob", "alice", "re", "e" * 32)
    assert (status, body["error"]["code"]) == (404, "unknown_message")
    status, body = world.send("bob", "alice", "re", "nope")
    assert (status, body["error"]["code"]) == (400, "invalid_message")
    status, body = world.send("bob", "alice", "re", 5)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    after = json.loads(ok(kith(world.dirs["bob"], "messages", "alice", "--json", "--limit", "1")))
    assert after == before


@pytest.mark.parametrize("width", [1280, 400])
def test_screenshots_of_each_main_screen(world: World, width: int) -> None:
    alice = world.pages["alice"]
    alice.set_viewport_size({"width": width, "height": 800})
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(name: str) -> None:
        path = ARTIFACTS / f"main-{name}-{width}.png"
        alice.screenshot(path=str(path))
        assert path.stat().st_size > 0

    try:
        back_to_list(alice)
        expect(alice.locator("#requests li").first).to_be_visible(timeout=WAIT_MS)
        shot("requests")
        alice.locator("#search").fill("noon")
        expect(alice.locator("#search-results .search-hit").first).to_be_visible(timeout=WAIT_MS)
        shot("search")
        alice.locator("#search").fill("")
        expect(alice.locator("#search-results")).to_be_hidden(timeout=WAIT_MS)
        expect(alice.locator("#contacts")).to_be_visible(timeout=WAIT_MS)
        shot("contacts")
        world.open_chat("alice", "bob")
        reveal(alice.locator("#messages .msg", has_text="Yes, noon works"))
        shot("chat-reply")
        if width < 700:
            alice.locator("#chat-back").click()
        alice.locator("#settings-open").click()
        expect(alice.locator("#settings-title")).to_be_visible(timeout=WAIT_MS)
        shot("settings")
    finally:
        alice.set_viewport_size({"width": 1200, "height": 760})
