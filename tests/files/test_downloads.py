"""One-time download tickets: the pure tickets, the download endpoints over a
fake file source, and a real in-process node where a browser session gets a
link that streams the file once, without the session secret."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kith.api.download_routes import add_download_routes, attachment_disposition
from kith.api.downloads import DOWNLOAD_PREFIX, DownloadTickets
from kith.api.errors import error_response, status_for
from kith.datadir import DataDir
from kith.errors import KithError
from kith.files import UnknownTransfer
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith.runtime.files.transfers import FileView
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, add_contact, make_identity

FILE = "ab" * 16
PEER = IdentityKeys(bytes(range(32))).kith_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the tickets (pure) -----------------------------------------------------------


def test_a_ticket_names_its_file_once() -> None:
    tickets = DownloadTickets(Clock())
    ticket = tickets.issue(FILE)
    assert len(ticket) >= 43
    assert tickets.redeem(ticket) == FILE
    assert tickets.redeem(ticket) is None


def test_a_ticket_lapses_after_its_time() -> None:
    clock = Clock()
    tickets = DownloadTickets(clock, ttl=60)
    early, late = tickets.issue(FILE), tickets.issue(FILE)
    clock.now += 59.9
    assert tickets.redeem(early) == FILE
    clock.now += 0.1
    assert tickets.redeem(late) is None


def test_a_wrong_ticket_names_nothing() -> None:
    tickets = DownloadTickets(Clock())
    ticket = tickets.issue(FILE)
    assert tickets.redeem(ticket[:-1]) is None
    assert tickets.redeem("") is None
    assert tickets.redeem("\udcff") is None
    assert tickets.redeem(ticket) == FILE  # a wrong guess does not spend the real one


def test_tickets_are_never_the_same() -> None:
    tickets = DownloadTickets(Clock())
    assert len({tickets.issue(FILE) for _ in range(100)}) == 100


@pytest.mark.parametrize(
    ("name", "ascii_part", "utf8_part"),
    [
        ("report.pdf", 'filename="report.pdf"', "filename*=UTF-8''report.pdf"),
        ("../../etc/passwd", 'filename="passwd"', "filename*=UTF-8''passwd"),
        ('a"b\\c.txt', 'filename="c.txt"', "filename*=UTF-8''c.txt"),
        ("ça va.txt", 'filename="_a va.txt"', "filename*=UTF-8''%C3%A7a%20va.txt"),
        (
            "x\r\nSet-Cookie: a=b",
            'filename="xSet-Cookie_ a=b"',
            "filename*=UTF-8''xSet-Cookie_%20a%3Db",
        ),
        ("CON.txt", 'filename="_CON.txt"', "filename*=UTF-8''_CON.txt"),
    ],
)
def test_the_download_name_is_sanitised(name: str, ascii_part: str, utf8_part: str) -> None:
    header = attachment_disposition(name)
    assert header == f"attachment; {ascii_part}; {utf8_part}"
    assert "\r" not in header
    assert "\n" not in header


# -- the endpoints over a fake file source --------------------------------------------


class Files:
    """Serves one file."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def content(self, file_id: str) -> tuple[FileView, AsyncIterator[bytes]]:
        if file_id != FILE:
            raise UnknownTransfer("no file transfer with that ID")
        view = FileView(
            FILE, PEER, "in", "notes.txt", len(self.data), "0" * 64, "", "received", None,
            len(self.data), 0,
        )  # fmt: skip
        return view, self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self.data


@web.middleware
async def _errors(
    request: web.Request, handler: Any
) -> web.StreamResponse:  # the node's mapping of errors (kith.api.errors)
    try:
        response: web.StreamResponse = await handler(request)
    except KithError as exc:
        return error_response(*status_for(exc))
    return response


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, str]:
    async with http.get(url) as response:
        return (
            response.status,
            await response.read(),
            response.headers.get("Content-Disposition", ""),
        )


async def test_an_expired_or_wrong_ticket_is_refused() -> None:
    clock = Clock()
    tickets = DownloadTickets(clock, ttl=60)
    app = web.Application(middlewares=[_errors])
    add_download_routes(app, Files(b"hello"), tickets)
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        good, expired = tickets.issue(FILE), tickets.issue(FILE)
        status, body, disposition = await _get(http, str(server.make_url(DOWNLOAD_PREFIX + good)))
        assert (status, body) == (200, b"hello")
        assert disposition.startswith('attachment; filename="notes.txt"')
        clock.now += 60
        for ticket in (expired, good, "nope"):
            status, body, _ = await _get(http, str(server.make_url(DOWNLOAD_PREFIX + ticket)))
            assert status == 403
            assert json.loads(body)["error"]["code"] == "bad_ticket"


# -- a real node -------------------------------------------------------------------


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    path = tmp_path / "node"
    make_identity(path, "alice", "ws://127.0.0.1:9")
    add_contact(path, PEER, "bob")
    running = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    yield running
    await running.stop()


async def _call(
    http: aiohttp.ClientSession, node: Node, method: str, path: str, headers: dict[str, str],
    **kwargs: Any,
) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, node.runtime.base_url + path, headers=headers, **kwargs) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


async def _session(http: aiohttp.ClientSession, node: Node) -> dict[str, str]:
    token = {"Authorization": f"Bearer {node.runtime.token}"}
    _, body = await _call(http, node, "POST", "/api/login-codes", token)
    _, body = await _call(http, node, "POST", "/api/sessions", {}, json={"code": body["code"]})
    return {"X-Kith-Session": str(body["session"])}


async def test_a_session_gets_a_link_that_streams_the_file_once(
    node: Node, http: aiohttp.ClientSession
) -> None:
    session = await _session(http, node)
    data = bytes(range(256)) * 1000
    status, body = await _call(
        http, node, "POST", f"/api/contacts/{PEER}/files/upload?name=..%2Fr%C3%A9sum%C3%A9.pdf",
        session, data=data,
    )  # fmt: skip
    assert status == 201
    file_id = body["file"]["id"]
    status, body = await _call(http, node, "POST", f"/api/files/{file_id}/download", session)
    assert status == 201
    url = body["url"]
    assert url.startswith(DOWNLOAD_PREFIX)
    assert session["X-Kith-Session"] not in url
    async with http.get(node.runtime.base_url + url) as response:  # no credentials at all
        assert response.status == 200
        assert await response.read() == data
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
        )
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    status, body = await _call(http, node, "GET", url, {})
    assert (status, body["error"]["code"]) == (403, "bad_ticket")


async def test_a_wrong_ticket_or_no_session_is_refused(
    node: Node, http: aiohttp.ClientSession
) -> None:
    session = await _session(http, node)
    status, body = await _call(
        http, node, "POST", f"/api/contacts/{PEER}/files/upload?name=a.txt", session, data=b"a"
    )
    file_id = body["file"]["id"]
    status, body = await _call(http, node, "POST", f"/api/files/{file_id}/download", {})
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    status, body = await _call(http, node, "POST", f"/api/files/{'0' * 32}/download", session)
    assert (status, body["error"]["code"]) == (404, "unknown_transfer")
    for ticket in ("x" * 43, "", "..%2F..%2Fapi%2Fstatus"):
        status, body = await _call(http, node, "GET", DOWNLOAD_PREFIX + ticket, {})
        assert status in (403, 404)
        assert body["error"]["code"] in ("bad_ticket", "not_found")
    status, body = await _call(
        http, node, "GET", DOWNLOAD_PREFIX + "x" * 43, {"Origin": "http://evil.example"}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden_origin")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
