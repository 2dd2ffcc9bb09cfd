"""Files in a group chat in the web UI: three real nodes through a real kith-signal, two
pages. alice attaches a picture with the group composer's paperclip; both pages show its
card with the picture inline once every member has it; bob drops a file on the group
chat and downloads nothing until it is there, then alice's card shows it received."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium
from kith_testkit.node_api import call
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageWorld]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        world = PageWorld(
            tmp_path_factory.mktemp("group-files-ui"),
            browser,
            ("alice", "bob", "carol"),
            pages=("alice", "bob"),
        )
        try:
            for other in ("bob", "carol"):
                world.wait_online("alice", other, WAIT_MS)
            yield world
        finally:
            world.close()
            browser.close()


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _open_group(page: Any, name: str) -> None:
    page.locator("#groups-list li", has_text=name).get_by_role("button").click()
    expect(page.locator("#group-title")).to_have_text(name, timeout=WAIT_MS)


def test_a_picture_attached_in_a_group_shows_inline_for_every_member(
    trio: PageWorld, tmp_path: Path
) -> None:
    ids = trio.ids
    status, made = call(
        trio.nodes["alice"],
        "POST",
        "/api/groups",
        {"name": "Sketches", "members": [ids["bob"], ids["carol"]]},
    )
    assert status == 201
    alice, bob = trio.pages["alice"], trio.pages["bob"]
    alice.reload()
    bob.reload()
    _open_group(alice, "Sketches")
    _open_group(bob, "Sketches")
    picture = tmp_path / "blue.png"
    picture.write_bytes(_png(24, 16))
    alice.set_input_files("#group-composer-file", str(picture))
    for page, side in ((alice, "mine"), (bob, "theirs")):
        card = page.locator(f"#group-messages .msg.{side} .file-card").last
        expect(card).to_have_attribute("data-state", "received", timeout=WAIT_MS)
        expect(card.locator(".file-name")).to_have_text("blue.png")
        thumb = card.locator("img.file-thumb")
        expect(thumb).to_have_attribute("src", re.compile(r"^blob:"), timeout=WAIT_MS)
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 24", arg=thumb.element_handle()
        )
        expect(card.get_by_role("button", name="Download")).to_be_visible()
    # carol (no page) has it too, verified
    files = call(trio.nodes["carol"], "GET", f"/api/groups/{made['id']}/files")[1]["files"]
    assert [f["state"] for f in files.values()] == ["received"]

    bob.evaluate(
        """() => {
            const file = new File([new Uint8Array(5000).fill(7)], "notes.txt");
            const data = new DataTransfer();
            data.items.add(file);
            const target = document.querySelector("#group-messages");
            target.dispatchEvent(new DragEvent("dragover", { bubbles: true, dataTransfer: data }));
            target.dispatchEvent(new DragEvent("drop", { bubbles: true, dataTransfer: data }));
        }"""
    )
    got = alice.locator("#group-messages .msg.theirs .file-card", has_text="notes.txt")
    expect(got).to_have_attribute("data-state", "received", timeout=WAIT_MS)
    expect(got.locator("img.file-thumb")).to_have_count(0)  # not a picture
    mine = bob.locator("#group-messages .msg.mine .file-card", has_text="notes.txt")
    expect(mine).to_have_attribute("data-state", "received", timeout=WAIT_MS)
