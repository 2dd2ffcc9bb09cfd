"""Calls between two browser pages on real nodes through a real kith-signal: the pages
exchange their offer, answer and candidates sealed through the nodes' pair channel,
then media flows browser to browser (Chromium's fake camera and microphone)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import ARTIFACTS, launch_chromium
from kith_testkit.node_api import call
from kith_testkit.page_controls import VISIBILITY_AND_SPY, new_note, notes, set_hidden
from kith_testkit.page_world import PageWorld, notifying_page
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
WAIT_MS = 20_000

STATS = """async () => {
  const pc = window.kithCall;
  if (!pc || pc.connectionState === "closed") return null;
  const out = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") out["in_" + r.kind] = r.bytesReceived;
    if (r.type === "outbound-rtp") out["out_" + r.kind] = r.bytesSent;
  });
  return out;
}"""


def world_in(root: Path, browser: Any) -> PageWorld:
    """A server, alice's and bob's nodes with a signed-in page each; carol never runs."""
    return PageWorld(
        root,
        browser,
        ("alice", "bob", "carol"),
        adds=[("alice", "bob"), ("alice", "carol"), ("bob", "alice")],
        running=("alice", "bob"),
        # the tab's visibility under the test's control, a spy on notifications
        setup=notifying_page(VISIBILITY_AND_SPY),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageWorld]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, media=True)
        w = world_in(tmp_path_factory.mktemp("calls-ui"), browser)
        w.wait_online("alice", "bob", WAIT_MS)
        w.wait_online("bob", "alice", WAIT_MS)
        yield w
        w.close()
        browser.close()


HISTORY = """() => [...document.querySelectorAll("#messages .msg .text, #messages .call-row-text")]
  .map((el) => el.textContent)"""


def history(page: Any) -> list[str]:
    """The message list as shown, top to bottom: messages' texts and calls' entries."""
    found: list[str] = page.evaluate(HISTORY)
    return found


def history_ends(page: Any, tail: list[str], what: str) -> list[str]:
    """Wait until the page's message list ends with ``tail``; the whole list."""

    def probe() -> list[str] | None:
        shown = history(page)
        return shown if shown[-len(tail) :] == tail else None

    return wait_for(probe, what, 20)


def stats(page: Any) -> dict[str, int]:
    found: dict[str, int] | None = page.evaluate(STATS)
    return found or {}


def growing(page: Any, key: str, what: str) -> None:
    """Wait until ``key`` of the page's RTP stats has grown past a first reading."""
    first = wait_for(lambda: stats(page).get(key), f"{what}: {key} reported", 20)
    wait_for(lambda: stats(page).get(key, 0) > first or None, f"{what}: {key} growing", 20)


def standing_still(page: Any, key: str) -> bool:
    """Whether ``key`` stays put over half a second (a measurement window, not a wait)."""
    before = stats(page).get(key)
    page.wait_for_timeout(500)
    return stats(page).get(key) == before


def test_a_video_call_flows_both_ways_mutes_shares_and_hangs_up(world: PageWorld) -> None:
    alice = world.open_chat("alice", "bob")
    bob = world.open_chat("bob", "alice")
    alice.get_by_role("button", name="Video call", exact=True).click()
    expect(alice.locator("#call-state")).to_have_text("Ringing…", timeout=WAIT_MS)
    banner = bob.get_by_role("alertdialog")
    expect(banner).to_contain_text("alice is calling (video)", timeout=WAIT_MS)
    banner.get_by_role("button", name="Accept").click()
    for page in (alice, bob):
        expect(page.locator("#call-state")).to_have_text("Connected", timeout=WAIT_MS)
    for page, who in ((alice, "alice"), (bob, "bob")):
        growing(page, "in_audio", who)
        growing(page, "in_video", who)
    expect(alice.locator("#call-timer")).to_have_text("0:01", timeout=WAIT_MS)

    bar = alice.get_by_role("region", name="Call")
    bar.get_by_role("button", name="Mute microphone").click()
    unmute = bar.get_by_role("button", name="Unmute microphone")
    expect(unmute).to_have_attribute("aria-pressed", "true")
    wait_for(lambda: standing_still(alice, "out_audio") or None, "alice's audio to stop", 10)
    growing(alice, "out_video", "alice while muted")  # only the microphone stopped
    unmute.click()
    growing(alice, "out_audio", "alice unmuted")

    camera = alice.evaluate(
        "() => window.kithCall.getSenders().find((s) => s.track && s.track.kind === 'video')"
        ".track.label"
    )
    alice.get_by_role("button", name="Share screen").click()
    expect(alice.get_by_role("button", name="Stop sharing")).to_be_visible(timeout=WAIT_MS)
    shared = alice.evaluate(
        "() => window.kithCall.getSenders().find((s) => s.track && s.track.kind === 'video')"
        ".track.label"
    )
    assert shared != camera
    growing(bob, "in_video", "bob sees the screen")
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "ui-call-alice.png"))

    # bob's node is told its page's media dropped (as a cut ICE connection would): bob's
    # page shows it reconnecting, then connected once the media is reported back
    [live] = call(world.nodes["bob"], "GET", "/api/calls")[1]["calls"]
    media = f"/api/calls/{live['id']}/media"
    assert call(world.nodes["bob"], "POST", media, {"flowing": False})[0] == 200
    expect(bob.locator("#call-state")).to_have_text("Reconnecting…", timeout=WAIT_MS)
    expect(bob.locator("#call")).to_have_attribute("data-state", "reconnecting")
    expect(alice.locator("#call-state")).to_have_text("Connected")
    assert call(world.nodes["bob"], "POST", media, {"flowing": True})[0] == 200
    expect(bob.locator("#call-state")).to_have_text("Connected", timeout=WAIT_MS)

    bob.get_by_role("button", name="Hang up").click()
    expect(bob.locator("#call-state")).to_have_text("Call ended: you hung up", timeout=WAIT_MS)
    expect(alice.locator("#call-state")).to_have_text("Call ended: they hung up", timeout=WAIT_MS)
    log = alice.get_by_role("log", name="Messages")
    expect(log.locator(".call-row").last).to_contain_text(
        "Outgoing video call, 0:0", timeout=WAIT_MS
    )
    log = bob.get_by_role("log", name="Messages")
    expect(log.locator(".call-row").last).to_contain_text("Incoming video call", timeout=WAIT_MS)


def test_decline_then_busy_suppresses_the_ring(world: PageWorld) -> None:
    alice = world.open_chat("alice", "bob")
    bob = world.open_chat("bob", "alice")
    alice.fill("#composer-text", "before the decline")
    alice.locator("#composer-text").press("Enter")
    history_ends(bob, ["before the decline"], "bob has alice's message")
    shown = len(notes(bob))
    alice.get_by_role("button", name="Call", exact=True).click()
    bob.get_by_role("alertdialog").get_by_role("button", name="Decline").click()
    expect(alice.locator("#call-state")).to_have_text("Call ended: declined", timeout=WAIT_MS)
    expect(bob.get_by_role("alertdialog")).to_be_hidden()
    assert len(notes(bob)) == shown  # a visible tab rings in the page only
    # the calls are rows of the message list, in time order: live, then from the history
    tail = ["before the decline", "Declined call"]
    for who, other, earlier in (("alice", "bob", "Outgoing"), ("bob", "alice", "Incoming")):
        page = world.pages[who]
        live = history_ends(page, tail, f"{who}'s live entry after the message")
        world.open_chat(who, other)  # reopened: the list comes from the history pages
        assert history_ends(page, tail, f"{who}'s history entry after the message") == live
        calls_before = [entry for entry in live[:-2] if "call" in entry]  # the first test's
        assert all(entry.startswith(earlier) for entry in calls_before), live
    alice.fill("#composer-text", "after the decline")
    alice.locator("#composer-text").press("Enter")
    tail = [*tail, "after the decline"]
    history_ends(bob, tail, "bob has the message after the call")
    for page in (alice, bob):  # same author within minutes, but a call came between
        expect(page.locator("#messages .msg").last).not_to_have_class(re.compile(r"\bgrouped\b"))

    bob.select_option("#own-status", "busy")
    expect(bob.locator("#me-effective")).to_contain_text("Busy", timeout=WAIT_MS)
    alice.get_by_role("button", name="Call", exact=True).click()
    expect(alice.locator("#call-state")).to_have_text("Call ended: they are busy", timeout=WAIT_MS)
    history_ends(bob, [*tail, "Missed call"], "bob's missed call while busy")
    expect(bob.get_by_role("alertdialog")).to_be_hidden()
    bob.select_option("#own-status", "online")


def test_a_call_ringing_in_a_hidden_tab_shows_a_notification_unless_busy(world: PageWorld) -> None:
    alice = world.open_chat("alice", "bob")
    bob = world.open_chat("bob", "alice")
    set_hidden(bob, True)
    try:
        shown = len(notes(bob))
        alice.get_by_role("button", name="Video call", exact=True).click()
        assert new_note(bob, shown) == {"title": "alice", "body": "Incoming video call"}
        bob.get_by_role("alertdialog").get_by_role("button", name="Decline").click()
        expect(alice.locator("#call-state")).to_have_text("Call ended: declined", timeout=WAIT_MS)

        bob.select_option("#own-status", "busy")
        expect(bob.locator("#me-effective")).to_contain_text("Busy", timeout=WAIT_MS)
        shown = len(notes(bob))
        alice.get_by_role("button", name="Call", exact=True).click()
        expect(alice.locator("#call-state")).to_have_text(
            "Call ended: they are busy", timeout=WAIT_MS
        )
        history_ends(bob, ["Declined video call", "Missed call"], "bob's missed call while busy")
        assert len(notes(bob)) == shown
    finally:
        set_hidden(bob, False)
        bob.select_option("#own-status", "online")


DENY_CAMERA = """() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (wanted) =>
    wanted.video ? Promise.reject(new DOMException("denied", "NotAllowedError")) : real(wanted);
}"""


def test_a_denied_camera_falls_back_to_audio(world: PageWorld) -> None:
    alice = world.open_chat("alice", "bob")
    bob = world.open_chat("bob", "alice")
    bob.evaluate(DENY_CAMERA)
    alice.get_by_role("button", name="Video call", exact=True).click()
    bob.get_by_role("alertdialog").get_by_role("button", name="Accept").click()
    expect(bob.locator("#call-note")).to_have_text(
        "The camera is not available or was denied: audio only.", timeout=WAIT_MS
    )
    for page in (alice, bob):
        expect(page.locator("#call-state")).to_have_text("Connected", timeout=WAIT_MS)
    growing(alice, "in_audio", "alice hears bob")
    growing(bob, "in_video", "bob still sees alice")
    alice.get_by_role("region", name="Call").get_by_role("button", name="Hang up").click()
    expect(bob.locator("#call-state")).to_have_text("Call ended: they hung up", timeout=WAIT_MS)


def test_a_call_to_an_offline_contact_fails_fast(world: PageWorld) -> None:
    alice = world.open_chat("alice", "carol")
    started = time.monotonic()
    alice.get_by_role("button", name="Call", exact=True).click()
    expect(alice.locator("#call-error")).to_contain_text("carol is not reachable", timeout=5_000)
    assert time.monotonic() - started < 3.0
    expect(alice.locator("#call")).not_to_have_attribute("data-state", "ringing_out")
