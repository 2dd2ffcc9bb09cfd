"""Everyday chat essentials in the web UI, between two real nodes over real WebRTC:
desktop notifications (hidden tab, busy, private, muted), safe markdown and
links, any-emoji reactions, drafts per chat, ↑ to edit, grouping, the
jump-to-newest button and the narrow layout.

The page's visibility is emulated with an init script (headless Chromium has
no window to hide); notifications go through the browser's real Notification
API, with the permission granted through the browser context, and a spy
records each one the page creates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.node_api import call
from kith_testkit.page_controls import (
    VISIBILITY_AND_SPY,
    WAIT_MS,
    back_to_list,
    new_note,
    notes,
    set_hidden,
    set_setting,
)
from kith_testkit.page_world import PageWorld, notifying_page

pytestmark = pytest.mark.slow

PAGE_SCRIPT = VISIBILITY_AND_SPY + "window.__xss = 0;\n"


class World(PageWorld):
    """A server; alice (with bob and carol as contacts) and bob running; a page each."""

    def __init__(self, root: Path, browser: Any) -> None:
        super().__init__(
            root,
            browser,
            ("alice", "bob", "carol"),
            adds=[("alice", "bob"), ("alice", "carol"), ("bob", "alice")],
            running=("alice", "bob"),
            setup=notifying_page(PAGE_SCRIPT),
        )

    def send(self, sender: str, to: str, text: str) -> str:
        status, body = call(
            self.nodes[sender], "POST", f"/api/contacts/{self.ids[to]}/messages", {"text": text}
        )
        assert status == 201, body
        return str(body["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        built = World(tmp_path_factory.mktemp("everyday"), browser)
        built.wait_online("alice", "bob")
        built.wait_online("bob", "alice")
        alice = built.open_chat("alice", "bob")
        built.open_chat("bob", "alice")
        built.send("bob", "alice", "warming up the channel")
        expect(alice.locator("#messages .msg").last).to_contain_text("warming up", timeout=WAIT_MS)
        yield built
        built.close()
        browser.close()


def test_a_hidden_tab_shows_a_notification_for_a_message(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    set_hidden(alice, True)
    before = len(notes(alice))
    world.send("bob", "alice", "are you there?")
    assert new_note(alice, before) == {"title": "bob", "body": "are you there?"}
    expect(alice).to_have_title("(1) Kith")
    set_hidden(alice, False)
    expect(alice).to_have_title("Kith")


def test_a_visible_tab_shows_no_notification(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    before = len(notes(alice))
    world.send("bob", "alice", "you are looking at it")
    expect(alice.locator("#messages .msg").last).to_contain_text("looking at it", timeout=WAIT_MS)
    assert len(notes(alice)) == before


def test_busy_shows_a_quiet_badge_and_no_notification(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    alice.select_option("#own-status", "busy")
    expect(alice.locator("body")).to_have_attribute("data-quiet", "true", timeout=WAIT_MS)
    set_hidden(alice, True)
    before = len(notes(alice))
    world.send("bob", "alice", "do not disturb me")
    expect(alice).to_have_title("(1) Kith", timeout=WAIT_MS)
    assert len(notes(alice)) == before
    set_hidden(alice, False)
    alice.select_option("#own-status", "online")
    expect(alice.locator("body")).to_have_attribute("data-quiet", "false", timeout=WAIT_MS)


def test_private_notifications_show_no_message_text(world: World) -> None:
    alice = world.pages["alice"]
    set_setting(alice, "notifications_private", True)
    set_hidden(alice, True)
    before = len(notes(alice))
    world.send("bob", "alice", "the secret plan")
    assert new_note(alice, before) == {"title": "bob", "body": "New message"}
    set_hidden(alice, False)
    set_setting(alice, "notifications_private", False)


def test_a_muted_contact_shows_no_notification(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    alice.locator("#chat-mute").click()
    expect(alice.locator("#chat-mute")).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    status, setting = call(world.nodes["alice"], "GET", "/api/settings/muted_contacts")
    assert status == 200
    assert setting["value"] == [world.ids["bob"]]
    set_hidden(alice, True)
    before = len(notes(alice))
    world.send("bob", "alice", "muted chatter")
    expect(alice).to_have_title("(1) Kith", timeout=WAIT_MS)
    assert len(notes(alice)) == before
    set_hidden(alice, False)
    alice.locator("#chat-mute").click()
    expect(alice.locator("#chat-mute")).to_have_attribute("aria-pressed", "false", timeout=WAIT_MS)


def test_markdown_and_links_render_as_elements_never_as_markup(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    text = (
        "**bold** and *soft* and `x < y` <script>window.__xss = 1</script> "
        "<img src=x onerror='window.__xss=2'> [a](javascript:window.__xss=3) "
        "javascript:alert(1) see https://example.org/a_(b).\n```\n<b>raw</b>\n```"
    )
    world.send("bob", "alice", text)
    row = alice.locator("#messages .msg").last
    expect(row.locator("strong")).to_have_text("bold", timeout=WAIT_MS)
    expect(row.locator("em")).to_have_text("soft")
    expect(row.locator(".text > code")).to_have_text("x < y")
    expect(row.locator("pre code")).to_have_text("<b>raw</b>")
    links = row.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a_(b)")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    assert row.locator("script, img, b").count() == 0
    # A web-first assertion: the row may be drawn again (a reload after the
    # event socket re-opened on a busy machine) between two reads.
    expect(row.locator(".text")).to_contain_text("<script>")
    assert alice.evaluate("window.__xss") == 0


def test_a_reaction_with_an_emoji_from_the_full_picker_reaches_the_other_side(
    world: World,
) -> None:
    alice = world.open_chat("alice", "bob")
    bob = world.open_chat("bob", "alice")
    mid = world.send("alice", "bob", "react to this")
    on_bob = bob.locator(f"#messages .msg[data-id='{mid}']")
    expect(on_bob).to_be_visible(timeout=WAIT_MS)
    on_bob.hover()
    on_bob.get_by_role("button", name="Add reaction").click()
    bob.get_by_role("button", name="More reactions").click()
    bob.get_by_label("Search emoji").fill("rocket")
    bob.get_by_role("button", name="🚀 rocket launch").click()
    on_alice = alice.locator(f"#messages .msg[data-id='{mid}'] .reaction")
    expect(on_alice).to_have_text("🚀 1", timeout=WAIT_MS)


def test_the_composer_emoji_picker_inserts_at_the_cursor(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    box = alice.locator("#composer-text")
    box.fill("hello ")
    alice.locator("#composer-emoji").click()
    alice.get_by_label("Search emoji").fill("wave")
    alice.get_by_role("button", name="👋 wave hello bye").click()
    expect(box).to_have_value("hello 👋")
    box.fill("")


def test_drafts_survive_switching_chats_and_reload(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    alice.locator("#composer-text").fill("half a thought")
    world.open_chat("alice", "carol")
    expect(alice.locator("#composer-text")).to_have_value("")
    alice.locator("#composer-text").fill("for carol")
    world.open_chat("alice", "bob")
    expect(alice.locator("#composer-text")).to_have_value("half a thought")
    alice.reload()
    alice.wait_for_selector("body[data-ready='true']", timeout=WAIT_MS)
    world.open_chat("alice", "carol")
    expect(alice.locator("#composer-text")).to_have_value("for carol")
    alice.locator("#composer-text").fill("")
    world.open_chat("alice", "bob")
    alice.locator("#composer-text").fill("")


def test_the_composer_grows_with_its_text(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    box = alice.locator("#composer-text")
    box.fill("")
    one_line = box.bounding_box()["height"]
    box.fill("one\ntwo\nthree\nfour")
    assert box.bounding_box()["height"] > one_line * 2
    box.fill("")


def test_up_arrow_in_an_empty_composer_edits_the_last_message(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    alice.locator("#composer-text").fill("tyop")
    alice.keyboard.press("Enter")
    expect(alice.locator("#messages .msg.mine").last).to_contain_text("tyop", timeout=WAIT_MS)
    alice.locator("#composer-text").press("ArrowUp")
    edit = alice.get_by_label("Edit message")
    expect(edit).to_be_focused()
    expect(edit).to_have_value("tyop")
    edit.fill("typo")
    edit.press("Enter")
    expect(alice.locator("#messages .msg.mine").last.locator(".edited")).to_be_visible(
        timeout=WAIT_MS
    )


def test_consecutive_messages_group_under_one_date_separator(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    first = world.send("bob", "alice", "group one")
    second = world.send("bob", "alice", "group two")
    row = alice.locator(f"#messages .msg[data-id='{second}']")
    expect(row).to_have_class(re.compile(r"\bgrouped\b"), timeout=WAIT_MS)
    expect(alice.locator(f"#messages .msg[data-id='{first}']")).to_be_visible()
    assert alice.locator("#messages .msg[data-day]").count() >= 1
    assert row.get_attribute("data-day") is None


def test_scrolled_up_a_marker_and_a_counted_jump_button_appear(world: World) -> None:
    alice = world.open_chat("alice", "bob")
    for i in range(25):
        world.send("alice", "bob", f"filler {i}\nsecond line\nthird line")
    expect(alice.locator("#messages .msg").last).to_contain_text("filler 24", timeout=WAIT_MS)
    alice.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
    world.send("bob", "alice", "while you were up there")
    world.send("bob", "alice", "and another")
    jump = alice.locator("#jump-newest")
    expect(jump).to_contain_text("2", timeout=WAIT_MS)
    expect(alice.locator("#messages .new-marker")).to_have_count(1)
    jump.click()
    expect(jump).to_be_hidden()
    expect(alice.locator("#messages .msg").last).to_be_in_viewport()


def test_narrow_layout_shows_one_pane_with_a_wide_message_box(world: World) -> None:
    alice = world.pages["alice"]
    alice.set_viewport_size({"width": 400, "height": 800})
    try:
        world.open_chat("alice", "bob")
        expect(alice.locator(".sidebar")).to_be_hidden()
        assert alice.locator("#composer-text").bounding_box()["width"] >= 250
        alice.locator("#chat-back").click()
        expect(alice.locator(".sidebar")).to_be_visible()
        alice.locator("#settings-open").click()
        expect(alice.locator("#settings-title")).to_be_visible(timeout=WAIT_MS)
        overflow = alice.locator("#settings").evaluate("el => el.scrollWidth - el.clientWidth")
        assert overflow <= 0
        for section in alice.locator("#settings section").all():
            box = section.bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 400
    finally:
        alice.set_viewport_size({"width": 1200, "height": 760})


@pytest.mark.parametrize("width", [1280, 400])
def test_screenshots_of_each_main_screen(world: World, width: int) -> None:
    alice = world.pages["alice"]
    alice.set_viewport_size({"width": width, "height": 800})
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        back_to_list(alice)
        expect(alice.locator("#contacts")).to_be_visible(timeout=WAIT_MS)
        alice.screenshot(path=str(ARTIFACTS / f"everyday-contacts-{width}.png"))
        world.open_chat("alice", "bob")
        alice.screenshot(path=str(ARTIFACTS / f"everyday-chat-{width}.png"))
        if width < 700:
            alice.locator("#chat-back").click()
        alice.locator("#settings-open").click()
        expect(alice.locator("#settings-title")).to_be_visible(timeout=WAIT_MS)
        alice.screenshot(path=str(ARTIFACTS / f"everyday-settings-{width}.png"))
        assert (ARTIFACTS / f"everyday-settings-{width}.png").stat().st_size > 0
    finally:
        alice.set_viewport_size({"width": 1200, "height": 760})
