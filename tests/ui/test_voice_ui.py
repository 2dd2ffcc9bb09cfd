"""Voice messages through two browser pages and two real nodes over real WebRTC: alice
holds the record button over Chromium's fake microphone, bob's page shows the voice
message with its duration and plays it; a cancelled recording sends nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.nodes import kith, ok
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 30_000
RECORD = "#composer-voice"


class Pair(PageWorld):
    """A server, alice's and bob's nodes, and a signed-in page for each (fake microphone)."""

    def open_chat(self, who: str, other: str) -> Any:
        self.wait_online(who, other, WAIT_MS)
        return super().open_chat(who, other)

    def messages(self, who: str, other: str) -> list[dict[str, Any]]:
        found = json.loads(ok(kith(self.root / who, "messages", other, "--json")))
        assert isinstance(found, list)
        return found


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, media=True)
        world = Pair(tmp_path, browser)
        yield world
        world.close()
        browser.close()


def recorded_at_least(page: Any, ms: int) -> None:
    """Wait until the recording bar's timer has passed ``ms``."""
    page.wait_for_function(
        "(ms) => Number(document.querySelector('#voice-time').dataset.ms) >= ms",
        arg=ms,
        timeout=WAIT_MS,
    )


def test_a_held_recording_is_sent_shown_with_its_duration_and_plays(pair: Pair) -> None:
    alice = pair.open_chat("alice", "bob")
    bob = pair.open_chat("bob", "alice")
    button = alice.get_by_role("button", name="Record voice message")
    button.hover()
    alice.mouse.down()
    expect(alice.locator("#voice-bar")).to_be_visible()
    expect(button).to_have_attribute("aria-pressed", "true")
    recorded_at_least(alice, 1_500)
    alice.mouse.up()
    expect(alice.locator("#voice-bar")).to_be_hidden(timeout=WAIT_MS)

    for page, side in ((bob, "theirs"), (alice, "mine")):
        card = page.locator(f"#messages .msg.{side} .voice-card").last
        expect(card).to_have_attribute("data-state", "received", timeout=WAIT_MS)
        player = card.locator(".voice-player")
        duration = int(player.get_attribute("data-duration") or 0)
        assert 1_500 <= duration < 10_000
        expect(player.locator(".voice-time")).to_have_text(f"0:0{int(duration / 1000 + 0.5)}")
    player = bob.locator("#messages .msg.theirs .voice-player").last
    player.get_by_role("button", name="Play voice message").click()
    expect(player.get_by_role("button", name="Pause voice message")).to_be_visible(timeout=WAIT_MS)
    bob.wait_for_function(
        "(el) => { const a = el.querySelector('audio'); return a.ended || a.currentTime > 0.5; }",
        arg=player.element_handle(),
        timeout=WAIT_MS,
    )
    assert player.locator(".voice-audio").get_attribute("src", timeout=WAIT_MS).startswith("blob:")
    expect(player.locator(".voice-wave span").first).to_be_attached(timeout=WAIT_MS)
    ARTIFACTS.mkdir(exist_ok=True)
    bob.screenshot(path=str(ARTIFACTS / "ui-voice-bob.png"))

    (listed,) = pair.messages("bob", "alice")
    assert listed["file"]["kind"] == "voice"
    assert listed["file"]["duration_ms"] == duration
    assert listed["file"]["name"].startswith("voice-")


UPLOAD = """async (query) => {
  const response = await fetch(`/api/contacts/${query.contact}/files/upload?${query.params}`, {
    method: "POST",
    headers: { "X-Kith-Session": sessionStorage.getItem("kith.session") },
    body: new Uint8Array([1, 2, 3]),
  });
  return { status: response.status, body: await response.json() };
}"""


def test_a_cancelled_recording_sends_nothing_and_a_bad_duration_is_refused(pair: Pair) -> None:
    alice = pair.open_chat("alice", "bob")
    button = alice.get_by_role("button", name="Record voice message")
    button.click()  # a click starts; Escape discards
    recorded_at_least(alice, 500)
    alice.keyboard.press("Escape")
    expect(alice.locator("#voice-bar")).to_be_hidden(timeout=WAIT_MS)
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()  # and the Cancel button discards too
    recorded_at_least(alice, 500)
    alice.locator("#voice-bar").get_by_role("button", name="Cancel").click()
    expect(alice.locator("#voice-bar")).to_be_hidden(timeout=WAIT_MS)
    expect(alice.locator("#messages .msg")).to_have_count(0)
    assert pair.messages("alice", "bob") == []

    query = {"contact": pair.ids["bob"], "params": "name=v.webm&voice_ms=0"}
    refused = alice.evaluate(UPLOAD, query)
    assert refused["status"] == 400
    assert "voice_ms" in refused["body"]["error"]["message"]
    query["params"] = "name=v.webm&voice_ms=1200"
    accepted = alice.evaluate(UPLOAD, query)
    assert accepted["status"] == 201
    assert (accepted["body"]["file"]["kind"], accepted["body"]["file"]["duration_ms"]) == (
        "voice",
        1200,
    )
