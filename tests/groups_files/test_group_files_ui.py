"""Files in a group chat in the web UI: three real nodes through a real kith-signal, two
pages. alice attaches a picture with the group composer's paperclip; both pages show its
card with the picture inline once every member has it; bob drops a file on the group
chat and downloads nothing until it is there, then alice's card shows it received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kith_testkit.images import png
from kith_testkit.node_api import call
from kith_testkit.page_controls import drop_file, open_group
from kith_testkit.page_world import PageWorld, open_world

pytestmark = pytest.mark.slow
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageWorld]:
    root = tmp_path_factory.mktemp("group-files-ui")
    names = ("alice", "bob", "carol")
    with open_world(lambda browser: PageWorld(root, browser, names, pages=names[:2])) as world:
        for other in ("bob", "carol"):
            world.wait_online("alice", other, WAIT_MS)
        yield world


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
    open_group(alice, "Sketches", WAIT_MS)
    open_group(bob, "Sketches", WAIT_MS)
    picture = tmp_path / "blue.png"
    picture.write_bytes(png(24, 16, (0x00, 0x80, 0xFF)))
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

    drop_file(bob, "#group-messages", "notes.txt", bytes([7]) * 5000)
    got = alice.locator("#group-messages .msg.theirs .file-card", has_text="notes.txt")
    expect(got).to_have_attribute("data-state", "received", timeout=WAIT_MS)
    expect(got.locator("img.file-thumb")).to_have_count(0)  # not a picture
    mine = bob.locator("#group-messages .msg.mine .file-card", has_text="notes.txt")
    expect(mine).to_have_attribute("data-state", "received", timeout=WAIT_MS)
