"""Files through two browser pages and two real nodes over real WebRTC: the
attach button sends, both pages show the transfer, the receiver downloads it,
a cancel shows on both sides."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kith_testkit.images import png
from kith_testkit.page_controls import drop_file
from kith_testkit.page_world import PageWorld, open_world

pytestmark = pytest.mark.slow
WAIT_MS = 30_000


class Pair(PageWorld):
    """A server, alice's and bob's nodes, and a signed-in page for each."""

    def open_chat(self, who: str, other: str) -> Any:
        self.wait_online(who, other, WAIT_MS)
        return super().open_chat(who, other)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with open_world(lambda browser: Pair(tmp_path, browser)) as world:
        yield world


def test_a_file_sent_from_the_page_is_received_and_downloaded(pair: Pair, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    source = tmp_path / "photo <1>.jpg"
    source.write_bytes(data)
    alice = pair.open_chat("alice", "bob")
    bob = pair.open_chat("bob", "alice")
    alice.set_input_files("#composer-file", str(source))
    sent = alice.locator("#messages .msg.mine .file-card").last
    expect(sent.locator(".file-name")).to_have_text("photo _1_.jpg", timeout=WAIT_MS)
    got = bob.locator("#messages .msg.theirs .file-card").last
    expect(got).to_have_attribute("data-state", "received", timeout=WAIT_MS)
    expect(got.locator(".file-state")).to_have_text("received")
    expect(got.locator("img.file-thumb")).to_have_count(0, timeout=WAIT_MS)  # not a picture
    expect(sent).to_have_attribute("data-state", "received", timeout=WAIT_MS)
    with bob.expect_download() as download:
        got.locator(".file-download").click()
    saved = tmp_path / "saved.jpg"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "photo _1_.jpg"
    assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_a_cancel_on_the_page_shows_on_both_sides(pair: Pair, tmp_path: Path) -> None:
    bob = pair.open_chat("bob", "alice")
    pair.nodes["alice"].kill()  # alice is away: the file waits, and can be cancelled
    source = tmp_path / "later.bin"
    source.write_bytes(os.urandom(1000))
    bob.set_input_files("#composer-file", str(source))
    card = bob.locator("#messages .msg.mine .file-card").last
    expect(card).to_have_attribute("data-state", "queued", timeout=WAIT_MS)
    card.locator(".file-pause").click()
    expect(card).to_have_attribute("data-state", "paused", timeout=WAIT_MS)
    expect(card.locator(".file-state")).to_have_text("paused by you")
    card.locator(".file-resume").click()
    expect(card).to_have_attribute("data-state", "queued", timeout=WAIT_MS)
    card.locator(".file-cancel").click()
    expect(card).to_have_attribute("data-state", "cancelled", timeout=WAIT_MS)
    expect(card.locator(".file-cancel")).to_have_count(0)
    pair.start("alice")
    alice = pair.sign_in("alice")
    pair.open_chat("alice", "bob")
    message = alice.locator("#messages .msg.theirs").last
    expect(message).to_contain_text("later.bin", timeout=WAIT_MS)
    expect(message.locator(".file-card")).to_have_count(0)  # never offered: nothing to show


def test_a_picture_dropped_on_the_chat_shows_inline_on_both_sides(pair: Pair) -> None:
    alice = pair.open_chat("alice", "bob")
    bob = pair.open_chat("bob", "alice")
    drop_file(alice, "#messages", "red.png", png(40, 30), "image/png")
    for page, side in ((alice, "mine"), (bob, "theirs")):
        card = page.locator(f"#messages .msg.{side} .file-card").last
        expect(card).to_have_attribute("data-state", "received", timeout=WAIT_MS)
        thumb = card.locator("img.file-thumb")
        expect(thumb).to_have_attribute("src", re.compile(r"^blob:"), timeout=WAIT_MS)
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 40", arg=thumb.element_handle()
        )
