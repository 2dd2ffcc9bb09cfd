"""Contact requests and display names in the web UI, between two real nodes.

Alice adds Bob from the CLI; Bob's open page lists the request (her chosen
name, the safety number) without a reload, and accepting it there makes her
a contact whose presence shows; a new display name then reaches Bob's page
live.
"""

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
WAIT_MS = 15_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        built = PageWorld(
            tmp_path, browser, adds=[], pages=("bob",), shown={"alice": "Alice", "bob": "Bob"}
        )
        page = built.pages["bob"]
        expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
        yield {"dirs": built.dirs, "ids": built.ids, "nodes": built.nodes, "page": page}
        built.close()
        browser.close()


def test_a_request_appears_is_accepted_and_presence_flows(world: dict[str, Any]) -> None:
    page, ids, dirs = world["page"], world["ids"], world["dirs"]
    expect(page.locator("#requests")).to_be_hidden()
    ok(kith(dirs["alice"], "contacts", "add", ids["bob"]))

    item = page.locator("#requests-list li")
    expect(item).to_have_count(1, timeout=WAIT_MS)
    expect(item).to_contain_text("Alice")
    shown = json.loads(ok(kith(dirs["alice"], "contacts", "show", ids["bob"], "--json")))
    expect(item.locator(".request-safety")).to_contain_text(shown["safety_number"][:5])
    page.screenshot(path=str(ARTIFACTS / "requests-1280.png"))

    item.get_by_role("button", name="Accept Alice").click()
    expect(page.locator("#requests")).to_be_hidden(timeout=WAIT_MS)
    contact = page.locator("#contacts li", has_text="Alice")
    expect(contact).to_have_count(1, timeout=WAIT_MS)
    expect(contact.locator(".dot.online")).to_have_count(1, timeout=WAIT_MS)
    world["nodes"]["alice"].sees(ids["bob"], "online")

    ok(kith(dirs["alice"], "name", "set", "Alice Liddell"))
    expect(page.locator("#contacts li", has_text="Alice Liddell")).to_have_count(1, timeout=WAIT_MS)


def test_a_declined_request_leaves_the_list(world: dict[str, Any]) -> None:
    page, ids, dirs = world["page"], world["ids"], world["dirs"]
    ok(kith(dirs["alice"], "contacts", "add", ids["bob"]))
    item = page.locator("#requests-list li")
    expect(item).to_have_count(1, timeout=WAIT_MS)
    item.get_by_role("button", name="Decline Alice").click()
    expect(page.locator("#requests")).to_be_hidden(timeout=WAIT_MS)
    expect(page.locator("#contacts li", has_text="Alice")).to_have_count(0)
    assert json.loads(ok(kith(dirs["bob"], "contacts", "requests", "--json"))) == []
