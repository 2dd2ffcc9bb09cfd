"""The browser's session with real nodes and headless Chromium: nothing another
port can receive works on the node, two nodes side by side in one browser,
idle expiry, sign-out, and what only the programs' token may do."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from kith_testkit.browser import launch_chromium, new_context, sign_in
from kith_testkit.node_api import http_get
from kith_testkit.nodes import NodeProcess, make_identity
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
WAIT_MS = 10_000
UNREACHABLE = "ws://127.0.0.1:9"  # no signaling server needed
IDLE_MINUTES = 0.02  # 1.2 s
SESSION = "sessionStorage.getItem('kith.session')"
MINT = """async (session) => {
  const r = await fetch('/api/login-codes', {method: 'POST', headers: {'X-Kith-Session': session}});
  return [r.status, (await r.json()).error.code];
}"""


class Logger(http.server.ThreadingHTTPServer):
    """Another listener on 127.0.0.1: records every request's headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Recorder(http.server.BaseHTTPRequestHandler):
    server: Logger

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers.items()))
        body = b"<!doctype html><title>elsewhere</title><img src='/pixel'>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, NodeProcess]]:
    root = tmp_path_factory.mktemp("session")
    for name in ("alice", "bob", "carol"):
        make_identity(root / name, name, UNREACHABLE)
    running = {
        "alice": NodeProcess(root / "alice"),
        "bob": NodeProcess(root / "bob"),
        "carol": NodeProcess(root / "carol", "--session-idle-minutes", str(IDLE_MINUTES)),
    }
    yield running
    for node in running.values():
        node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def logger() -> Iterator[Logger]:
    server = Logger()
    yield server
    server.shutdown()
    server.server_close()


def replay(node: NodeProcess, headers: dict[str, str], path: str = "/api/status") -> int:
    sent = {k: v for k, v in headers.items() if k.lower() != "host"}
    return http_get(node.info, path, sent)[0]


def has_status(node: NodeProcess, status: str) -> bool | None:
    return node.api.status().status == status or None


def signed_out(page: Any) -> None:
    expect(page.locator("body")).to_have_attribute("data-signed-out", "true", timeout=WAIT_MS)
    expect(page.locator("#banner")).to_contain_text("Not signed in")


def test_another_port_receives_nothing_the_node_accepts(
    nodes: dict[str, NodeProcess], browser: Any, logger: Logger
) -> None:
    alice = nodes["alice"]
    page = sign_in(new_context(browser), alice)
    page.goto(f"http://127.0.0.1:{logger.port}/")
    expect(page).to_have_title("elsewhere")
    assert len(logger.seen) >= 2  # the page and its image
    for headers in logger.seen:
        assert replay(alice, headers) == 401
        assert replay(alice, headers, "/api/contacts") == 401
    page.go_back()
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)


def test_two_nodes_side_by_side_in_one_browser_both_work(
    nodes: dict[str, NodeProcess], browser: Any
) -> None:
    context = new_context(browser)
    alice = sign_in(context, nodes["alice"])
    bob = sign_in(context, nodes["bob"])
    for page, name in ((alice, "alice"), (bob, "bob")):
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=WAIT_MS)
        expect(page.locator("#me-name")).to_have_text(name)
    alice.select_option("#own-status", "busy")
    bob.select_option("#own-status", "away")
    for name, status in (("alice", "busy"), ("bob", "away")):
        wait_for(partial(has_status, nodes[name], status), f"{name}'s page to set {status}")
    expect(alice.locator("#banner")).not_to_contain_text("Not signed in")
    expect(bob.locator("#banner")).not_to_contain_text("Not signed in")


def test_sign_out_ends_the_session(nodes: dict[str, NodeProcess], browser: Any) -> None:
    page = sign_in(new_context(browser), nodes["alice"])
    session = page.evaluate(SESSION)
    assert replay(nodes["alice"], {"X-Kith-Session": session}) == 200
    page.click("#sign-out")
    signed_out(page)
    assert page.evaluate(SESSION) is None
    assert replay(nodes["alice"], {"X-Kith-Session": session}) == 401
    page.reload()
    signed_out(page)


def test_a_browser_session_cannot_mint_sign_in_codes(
    nodes: dict[str, NodeProcess], browser: Any
) -> None:
    page = sign_in(new_context(browser), nodes["alice"])
    assert page.evaluate(MINT, page.evaluate(SESSION)) == [403, "token_required"]


def test_an_idle_session_expires_and_the_page_says_so(
    nodes: dict[str, NodeProcess], browser: Any
) -> None:
    carol = nodes["carol"]
    page = sign_in(new_context(browser), carol)
    session = page.evaluate(SESSION)
    time.sleep(IDLE_MINUTES * 60 + 0.5)  # the behaviour under test is the passing of time
    status, _, body = http_get(carol.info, "/api/status", {"X-Kith-Session": session})
    assert (status, json.loads(body)["error"]["code"]) == (401, "session_expired")
    page.select_option("#own-status", "busy")
    signed_out(page)
    assert carol.api.status().status == "online"  # the refused change did not happen


def test_the_page_without_a_session_shows_the_sign_in_needed_state(
    nodes: dict[str, NodeProcess], browser: Any
) -> None:
    page = new_context(browser).new_page()
    page.goto(nodes["alice"].info.base_url + "/")
    signed_out(page)
    expect(page.locator("#banner")).to_contain_text("kith open")
