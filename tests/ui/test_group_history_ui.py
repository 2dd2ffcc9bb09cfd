"""A group's older messages load as the user scrolls up, and the system lines of
that time go among them: one real node (its one member contact stays offline)
through a real kith-signal, one page in headless Chromium.

alice writes 20 messages, renames the group, writes 60 more, renames it again and
writes 10: the first page (the latest 50) shows the second rename in its place
and the first above the page; scrolled to the top, the older 40 load and the
first rename sits between message 19 and message 20, the creation above all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium
from kith_testkit.node_api import call
from kith_testkit.page_world import PageWorld

pytestmark = pytest.mark.slow
WAIT_MS = 15_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[PageWorld]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        made = PageWorld(
            tmp_path, browser, adds=[("alice", "bob")], running=("alice",), pages=("alice",)
        )
        try:
            yield made
        finally:
            made.close()
            browser.close()


def _send(node: Any, gid: str, first: int, count: int) -> None:
    for n in range(first, first + count):
        status, _ = call(node, "POST", f"/api/groups/{gid}/messages", {"text": f"note {n:03d}"})
        assert status == 201


def _rename(node: Any, gid: str, name: str) -> None:
    assert call(node, "POST", f"/api/groups/{gid}/rename", {"name": name})[0] == 200


def test_older_messages_load_with_the_system_lines_of_their_time(world: PageWorld) -> None:
    node, page = world.nodes["alice"], world.pages["alice"]
    status, made = call(
        node, "POST", "/api/groups", {"name": "Trail", "members": [world.ids["bob"]]}
    )
    assert status == 201
    gid = made["id"]
    _send(node, gid, 0, 20)
    _rename(node, gid, "Trail B")
    _send(node, gid, 20, 60)
    _rename(node, gid, "Trail C")
    _send(node, gid, 80, 10)

    page.locator("#groups-list li", has_text="Trail C").get_by_role("button").click()
    log = page.locator("#group-messages")
    expect(log.locator(".msg")).to_have_count(50, timeout=WAIT_MS)  # the latest page
    after = log.locator(".msg:has-text('note 079') + .system")
    expect(after).to_contain_text("renamed the group to “Trail C”")
    expect(log.locator(".msg:has-text('note 080')")).to_be_visible()

    log.evaluate("el => { el.scrollTop = 0; }")
    expect(log.locator(".msg")).to_have_count(90, timeout=WAIT_MS)
    first_rename = log.locator(".msg:has-text('note 019') + .system")
    expect(first_rename).to_contain_text("renamed the group to “Trail B”")
    expect(log.locator(".system:has-text('“Trail B”') + .msg")).to_contain_text("note 020")
    expect(log.locator(".system").first).to_contain_text("created the group “Trail”")
    expect(log.locator(".system").first.locator("xpath=following-sibling::*[1]")).to_contain_text(
        "note 000"
    )
    assert log.locator(".system").count() == 3

    # the page the UI asked for, and the requests it must not make
    status, body = call(node, "GET", f"/api/groups/{gid}/messages?limit=200")
    by_text = {m["body"]: m["id"] for m in body["messages"]}
    assert (status, len(by_text)) == (200, 90)
    older = f"/api/groups/{gid}/messages?limit=5&before={by_text['note 010']}"
    status, body = call(node, "GET", older)
    assert [m["body"] for m in body["messages"]] == [f"note {n:03d}" for n in range(5, 10)]
    status, body = call(node, "GET", f"/api/groups/{gid}/messages?before={'0' * 32}")
    assert (status, body["error"]["code"]) == (404, "unknown_message")
    status, body = call(node, "GET", f"/api/groups/{gid}/messages?limit=201")
    assert (status, body["error"]["code"]) == (400, "bad_request")
