"""The web UI end to end: a real ``kith-signal``, two real ``kith run`` nodes
(alice and bob, mutual contacts) and headless Chromium pages signed in to each.

Waits are Playwright's bounded ``expect`` timeouts; screenshots of the main
screens go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith.safety import format_digits
from kith_testkit.browser import ARTIFACTS, launch_chromium, new_context
from kith_testkit.node_api import http_get
from kith_testkit.nodes import PASSPHRASE, NodeProcess
from kith_testkit.page_world import PageWorld, mutual
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow
WAIT_MS = 10_000
QR_WIDTH = """new Promise((resolve, reject) => {
  const img = document.querySelector('img.qr');
  if (img.complete) resolve(img.naturalWidth);
  img.addEventListener('load', () => resolve(img.naturalWidth));
  setTimeout(() => reject(new Error('the QR code did not load')), 10000);
})"""
LINK = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/login#code=\S+)$")


class World(PageWorld):
    """The server, alice's and bob's nodes, and carol's (offline) identity; the
    pages are signed in when a test first asks for them."""

    def __init__(self, root: Path, browser: Any) -> None:
        super().__init__(
            root,
            browser,
            ("alice", "bob", "carol"),
            adds=mutual(("alice", "bob")),
            running=("alice", "bob"),
            pages=(),
        )
        self.alice = self.nodes["alice"]

    def restart_server(self) -> None:
        self.server = SignalProcess(*HEARTBEAT_FLAGS, "--port", str(self.server.port))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("ui"), browser)
    yield w
    w.close()


@pytest.fixture(scope="module")
def pages(world: World) -> dict[str, Any]:
    return {"alice": world.sign_in("alice"), "bob": world.sign_in("bob")}


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))


def contact_row(page: Any, kith_id: str) -> Any:
    return page.locator(f"#contacts li[data-id='{kith_id}']")


def printed_link(node: NodeProcess) -> str:
    def find() -> str | None:
        return next((m.group(1) for m in map(LINK.match, node.lines) if m), None)

    from kith_testkit.polling import wait_for

    return wait_for(find, "kith run to print its sign-in link")


def test_kith_run_prints_a_link_that_signs_in_once(world: World, browser: Any) -> None:
    link = printed_link(world.alice)
    first = new_context(browser).new_page()
    response = first.goto(link)
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(first.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
    assert first.url.endswith(f":{world.alice.info.port}/")
    second = new_context(browser).new_page()
    second.goto(link)
    expect(second.locator("body")).to_have_attribute("data-signin", "failed", timeout=WAIT_MS)
    expect(second.get_by_text("already used: not signed in")).to_be_visible()
    assert "#code=" not in second.url  # the code left the address bar
    shot(second, "link-used-twice")


def test_contacts_show_live_presence(world: World, pages: dict[str, Any]) -> None:
    row = contact_row(pages["alice"], world.ids["bob"])
    expect(row.locator(".sub")).to_have_attribute("data-presence", "online", timeout=WAIT_MS)
    expect(row.locator(".dot")).to_have_class(re.compile(r"\bonline\b"))
    shot(pages["alice"], "contacts")


def test_status_change_shows_on_the_contacts_page(world: World, pages: dict[str, Any]) -> None:
    alice, bob = pages["alice"], pages["bob"]
    alice.fill("#status-text", "in a meeting")
    alice.select_option("#own-status", "busy")
    row = contact_row(bob, world.ids["alice"])
    expect(row.locator(".sub")).to_have_attribute("data-presence", "busy", timeout=WAIT_MS)
    expect(row.locator(".sub")).to_contain_text("in a meeting")
    expect(alice.locator("#me-effective")).to_contain_text("Busy")
    shot(alice, "own-status-busy")
    shot(bob, "contact-busy")
    alice.select_option("#own-status", "invisible")
    expect(row.locator(".sub")).to_have_attribute("data-presence", "offline", timeout=WAIT_MS)
    expect(row.locator(".sub")).to_contain_text("last seen")
    alice.select_option("#own-status", "online")
    expect(row.locator(".sub")).to_have_attribute("data-presence", "online", timeout=WAIT_MS)


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("not an id", "invalid Kith ID"),
        ("typo", "checksum"),
        ("own", "your own ID"),
        ("bob", "already"),
    ],
)
def test_add_contact_shows_inline_errors(
    world: World, pages: dict[str, Any], typed: str, error: str
) -> None:
    page = pages["alice"]
    ids = world.ids
    text = {
        "typo": ids["carol"][:-1] + ("a" if ids["carol"][-1] != "a" else "b"),
        "own": ids["alice"],
        "bob": ids["bob"].upper(),
    }.get(typed, typed)
    page.click("#add-contact-open")
    page.fill("#add-id", text)
    page.click("#add-submit")
    expect(page.locator("#add-error")).to_contain_text(
        re.compile(error, re.IGNORECASE), timeout=WAIT_MS
    )
    expect(page.locator("#add-id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#add-id")).to_be_focused()
    if typed == "typo":
        shot(page, "add-contact-error")
    page.keyboard.press("Escape")
    expect(page.locator("#add-contact")).not_to_be_visible()


def test_add_contact_shows_safety_number_and_verifies(world: World, pages: dict[str, Any]) -> None:
    page, carol = pages["alice"], world.ids["carol"]
    page.click("#add-contact-open")
    page.fill("#add-id", carol)
    page.fill("#add-name", "carol")
    page.keyboard.press("Enter")
    dialog = page.locator("#contact-details")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expected = world.alice.api.contact(carol).safety_number
    expect(page.locator("#details-safety")).to_have_text(format_digits(expected))
    shot(page, "safety-number")
    page.click("#details-verify")
    expect(page.locator("#details-verified")).to_contain_text("Verified")
    assert world.alice.contact(carol).verified
    page.keyboard.press("Escape")
    expect(contact_row(page, carol)).to_contain_text("carol", timeout=WAIT_MS)


def test_settings_show_id_qr_and_download_a_backup(world: World, pages: dict[str, Any]) -> None:
    page = pages["alice"]
    page.click("#settings-open")
    expect(page.locator("#own-id")).to_have_text(
        " ".join(re.findall(".{1,4}", world.ids["alice"])), timeout=WAIT_MS
    )
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    assert page.evaluate(QR_WIDTH) > 0
    shot(page, "settings")
    page.get_by_label("Backup password", exact=True).fill("backup secret")
    page.get_by_label("Backup password again").fill("backup secret")
    page.get_by_label("Your database passphrase").fill(PASSPHRASE)
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download backup").click()
    path = download.value.path()
    assert path is not None
    assert Path(path).read_bytes()[:4] != b""
    expect(page.get_by_text("Backup downloaded")).to_be_visible()


def test_backup_with_a_wrong_passphrase_is_refused(world: World, pages: dict[str, Any]) -> None:
    page = pages["alice"]
    page.reload()  # an empty settings panel: the fields below are the freshly rendered ones
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
    page.click("#settings-open")
    expect(page.locator("#own-id")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Backup password", exact=True).fill("backup secret")
    page.get_by_label("Backup password again").fill("backup secret")
    page.get_by_label("Your database passphrase").fill("not my passphrase")
    page.get_by_role("button", name="Download backup").click()
    expect(page.get_by_text("wrong passphrase", exact=False)).to_be_visible(timeout=WAIT_MS)
    shot(page, "backup-wrong-passphrase")


def test_settings_take_several_signaling_urls_and_name_a_bad_one(
    world: World, pages: dict[str, Any]
) -> None:
    page = pages["alice"]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
    page.click("#settings-open")
    section = page.locator("section[aria-label='Signaling server']")
    field = section.get_by_label("Server URL")
    try:
        field.fill("ws://a.example:8765 ws://b.example:8765")
        section.get_by_role("button", name="Save").click()
        expect(section.get_by_text("Saved.")).to_be_visible(timeout=WAIT_MS)
        field.fill("ws://a.example:8765 http://b.example")
        section.get_by_role("button", name="Save").click()
        expect(section.get_by_text("'http://b.example'", exact=False)).to_be_visible(
            timeout=WAIT_MS
        )
        assert world.alice.api.get_setting("signaling_url").value == (
            "ws://a.example:8765 ws://b.example:8765"
        )
    finally:
        world.alice.api.set_setting("signaling_url", world.server.url)


def test_requests_without_session_or_from_foreign_origin_are_refused(world: World) -> None:
    info = world.alice.info
    bearer = {"Authorization": f"Bearer {info.token}"}
    status, headers, _ = http_get(info, "/")
    assert status == 200  # the page holds no data: it signs in, then asks the API
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert http_get(info, "/api/status")[0] == 401
    assert http_get(info, "/api/identity/qr.svg")[0] == 401
    assert http_get(info, "/api/status", {**bearer, "Origin": "http://evil.example"})[0] == 403
    assert http_get(info, "/api/status", {**bearer, "Host": "evil.example"})[0] == 403
    assert http_get(info, "/api/status", bearer)[0] == 200


def test_disconnected_banner_when_the_server_is_gone(world: World, pages: dict[str, Any]) -> None:
    page = pages["bob"]
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()
    world.server.stop()
    expect(banner).to_be_visible(timeout=WAIT_MS)
    expect(banner).to_contain_text("signaling server")
    expect(contact_row(page, world.ids["alice"]).locator(".sub")).to_have_attribute(
        "data-presence", "offline"
    )
    shot(page, "disconnected")
    world.restart_server()
    expect(banner).to_be_hidden(timeout=20_000)
    expect(contact_row(page, world.ids["alice"]).locator(".sub")).to_have_attribute(
        "data-presence", "online", timeout=WAIT_MS
    )
