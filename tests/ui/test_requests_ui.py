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

from kith_testkit.browser import ARTIFACTS, launch_chromium, new_context, sign_in
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow
WAIT_MS = 15_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    server = SignalProcess(*HEARTBEAT_FLAGS)
    dirs = {name: tmp_path / name for name in ("alice", "bob")}
    ids = {name: make_identity(path, name.title(), server.url) for name, path in dirs.items()}
    nodes = {name: NodeProcess(path, *HEARTBEAT_FLAGS) for name, path in dirs.items()}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = new_context(browser)
        page = sign_in(context, nodes["bob"])
        expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
        yield {"dirs": dirs, "ids": ids, "nodes": nodes, "page": page}
        context.close()
        browser.close()
    for node in nodes.values():
        node.kill()
    server.stop()


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
