"""The local API of an in-process node: access rules, bad input, live events, CLI backend."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kith.api.client import NodeBackend, find_node
from kith.datadir import DataDir
from kith.errors import KithError
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith.runtime.runtime_file import RUNTIME_FILE, RuntimeInfo, write_runtime
from kith.runtime.service import NodeService
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, make_identity

PEER = IdentityKeys(bytes(range(32))).kith_id
UNREACHABLE = "ws://127.0.0.1:9"  # nothing listens: the node keeps retrying


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    path = tmp_path / "node"
    make_identity(path, "alice", UNREACHABLE)
    running = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    yield running
    await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def _auth(node: Node, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.runtime.token}", **extra}


async def _call(
    http: aiohttp.ClientSession,
    node: Node,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    url = node.runtime.base_url + path
    async with http.request(
        method, url, headers=_auth(node) if headers is None else headers, **kwargs
    ) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


def _error_code(body: Any) -> str:
    return str(body["error"]["code"])


# -- access -------------------------------------------------------------------


async def test_a_request_without_a_token_is_refused_with_401(
    node: Node, http: aiohttp.ClientSession
) -> None:
    status, body = await _call(http, node, "GET", "/api/status", headers={})
    assert (status, _error_code(body)) == (401, "unauthenticated")


async def test_a_wrong_token_is_refused_with_401(node: Node, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": "Bearer not-the-token"}
    status, body = await _call(http, node, "GET", "/api/status", headers=headers)
    assert (status, _error_code(body)) == (401, "bad_token")


async def test_a_foreign_host_is_refused_with_403(node: Node, http: aiohttp.ClientSession) -> None:
    headers = _auth(node, Host=f"evil.example:{node.runtime.port}")
    status, body = await _call(http, node, "GET", "/api/status", headers=headers)
    assert (status, _error_code(body)) == (403, "forbidden_host")


async def test_a_foreign_origin_is_refused_with_403(
    node: Node, http: aiohttp.ClientSession
) -> None:
    headers = _auth(node, Origin="http://evil.example")
    status, body = await _call(http, node, "GET", "/api/status", headers=headers)
    assert (status, _error_code(body)) == (403, "forbidden_origin")


async def test_the_nodes_own_origin_is_allowed(node: Node, http: aiohttp.ClientSession) -> None:
    headers = _auth(node, Origin=f"http://localhost:{node.runtime.port}")
    status, _ = await _call(http, node, "GET", "/api/status", headers=headers)
    assert status == 200


async def _session(http: aiohttp.ClientSession, node: Node) -> str:
    status, body = await _call(http, node, "POST", "/api/login-codes")
    assert status == 201
    assert body["url"].endswith(f"/login#code={body['code']}")
    status, body = await _call(
        http, node, "POST", "/api/sessions", headers={}, json={"code": body["code"]}
    )
    assert status == 201
    return str(body["session"])


async def test_a_login_code_is_traded_once_for_a_session_header(
    node: Node, http: aiohttp.ClientSession
) -> None:
    status, body = await _call(http, node, "POST", "/api/login-codes")
    code = {"code": body["code"]}
    url = node.runtime.base_url + "/api/sessions"
    async with http.post(url, json=code) as response:
        assert response.status == 201
        assert "Set-Cookie" not in response.headers
        session = (await response.json())["session"]
    status, _ = await _call(http, node, "GET", "/api/status", headers={"X-Kith-Session": session})
    assert status == 200
    status, body = await _call(http, node, "POST", "/api/sessions", headers={}, json=code)
    assert (status, _error_code(body)) == (401, "bad_login_code")


async def test_a_session_exchange_without_a_code_is_a_400(
    node: Node, http: aiohttp.ClientSession
) -> None:
    status, body = await _call(http, node, "POST", "/api/sessions", headers={}, json={})
    assert (status, _error_code(body)) == (400, "bad_request")


async def test_a_session_cannot_mint_sign_in_codes(node: Node, http: aiohttp.ClientSession) -> None:
    session = {"X-Kith-Session": await _session(http, node)}
    status, body = await _call(http, node, "POST", "/api/login-codes", headers=session)
    assert (status, _error_code(body)) == (403, "token_required")


async def test_signing_out_ends_only_that_session(node: Node, http: aiohttp.ClientSession) -> None:
    mine = {"X-Kith-Session": await _session(http, node)}
    other = {"X-Kith-Session": await _session(http, node)}
    assert (await _call(http, node, "DELETE", "/api/session", headers=mine))[0] == 204
    status, body = await _call(http, node, "GET", "/api/status", headers=mine)
    assert (status, _error_code(body)) == (401, "unauthenticated")
    assert (await _call(http, node, "GET", "/api/status", headers=other))[0] == 200


async def test_the_token_cannot_sign_out(node: Node, http: aiohttp.ClientSession) -> None:
    status, body = await _call(http, node, "DELETE", "/api/session")
    assert (status, _error_code(body)) == (400, "not_a_session")


async def test_the_events_socket_takes_the_session_as_a_subprotocol(
    node: Node, http: aiohttp.ClientSession
) -> None:
    session = await _session(http, node)
    url = node.runtime.base_url + "/api/events"
    protocols = ("kith.events", f"kith.session.{session}")
    async with http.ws_connect(url, protocols=protocols) as ws:
        assert ws.protocol == "kith.events"
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "status"


async def test_the_events_socket_refuses_a_wrong_session(
    node: Node, http: aiohttp.ClientSession
) -> None:
    url = node.runtime.base_url + "/api/events"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, protocols=("kith.events", "kith.session.nope"))
    assert refused.value.status == 401


# -- bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"{not json", b"", b'{"status": "busy"', b'{"status": "\xff"}', b"NaN", b"[1, 2]", b"3"],
    ids=["not-json", "empty", "truncated", "not-utf8", "nan", "array", "number"],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    node: Node, http: aiohttp.ClientSession, data: bytes
) -> None:
    status, body = await _call(http, node, "PUT", "/api/status", data=data)
    assert (status, _error_code(body)) == (400, "bad_request")
    status, body = await _call(http, node, "GET", "/api/status")
    assert (status, body["status"]) == (200, "online")  # nothing changed


async def test_a_json_object_body_with_unicode_is_taken(
    node: Node, http: aiohttp.ClientSession
) -> None:
    data = json.dumps({"status": "busy", "text": "in a café ☕"}).encode()
    status, _ = await _call(http, node, "PUT", "/api/status", data=data)
    assert status == 200
    status, body = await _call(http, node, "GET", "/api/status")
    assert (body["status"], body["text"]) == ("busy", "in a café ☕")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"status": "sleepy"}, "invalid_value"),
        ({"status": 3}, "bad_request"),
        ({"status": "busy", "text": "x" * 141}, "invalid_value"),
        ([], "bad_request"),
    ],
)
async def test_an_invalid_status_is_a_400_with_a_code(
    node: Node, http: aiohttp.ClientSession, body: Any, code: str
) -> None:
    status, answer = await _call(http, node, "PUT", "/api/status", json=body)
    assert (status, _error_code(answer)) == (400, code)


async def test_contact_errors_have_their_own_codes(node: Node, http: aiohttp.ClientSession) -> None:
    own = (await _call(http, node, "GET", "/api/identity"))[1]["id"]
    assert (await _call(http, node, "POST", "/api/contacts", json={"id": "nope"}))[0] == 400
    status, body = await _call(http, node, "POST", "/api/contacts", json={"id": own})
    assert (status, _error_code(body)) == (400, "own_id")
    assert (await _call(http, node, "POST", "/api/contacts", json={"id": PEER}))[0] == 201
    status, body = await _call(http, node, "POST", "/api/contacts", json={"id": PEER})
    assert (status, _error_code(body)) == (409, "duplicate_contact")
    other = IdentityKeys(bytes(range(1, 33))).kith_id
    status, body = await _call(http, node, "DELETE", f"/api/contacts/{other}")
    assert (status, _error_code(body)) == (404, "unknown_contact")


async def test_an_id_of_an_unusable_key_is_a_400_and_not_stored(
    node: Node, http: aiohttp.ClientSession
) -> None:
    zero_key = format_id(bytes(32))
    status, body = await _call(http, node, "POST", "/api/contacts", json={"id": zero_key})
    assert (status, _error_code(body)) == (400, "invalid_key")
    assert "usable key" in body["error"]["message"]
    assert (await _call(http, node, "GET", "/api/contacts"))[1] == []


async def test_an_unknown_setting_is_a_404(node: Node, http: aiohttp.ClientSession) -> None:
    status, body = await _call(http, node, "PUT", "/api/settings/colour", json={"value": "red"})
    assert (status, _error_code(body)) == (404, "unknown_setting")


async def test_an_oversized_body_is_a_413(node: Node, http: aiohttp.ClientSession) -> None:
    big = {"status": "busy", "text": "x" * 100_000}
    status, body = await _call(http, node, "PUT", "/api/status", json=big)
    assert (status, _error_code(body)) == (413, "payload_too_large")


async def test_an_unexpected_error_is_a_generic_500_logged_with_its_traceback(
    node: Node,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(self: NodeService) -> None:
        raise RuntimeError("secret-looking detail")

    monkeypatch.setattr(NodeService, "identity", broken)
    with caplog.at_level(logging.ERROR, logger="test"):
        status, body = await _call(http, node, "GET", "/api/identity?token=hidden")
    assert (status, _error_code(body)) == (500, "internal")
    assert "secret-looking" not in body["error"]["message"]
    (record,) = [r for r in caplog.records if r.name == "test"]
    assert record.getMessage() == "API GET /api/identity failed: internal"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "hidden" not in caplog.text
    assert node.runtime.token not in caplog.text


async def test_an_unknown_path_is_a_json_404(node: Node, http: aiohttp.ClientSession) -> None:
    status, body = await _call(http, node, "GET", "/api/nothing")
    assert (status, _error_code(body)) == (404, "not_found")


# -- behaviour ------------------------------------------------------------------


async def test_status_reports_the_connection_separately(
    node: Node, http: aiohttp.ClientSession
) -> None:
    status, body = await _call(http, node, "PUT", "/api/status", json={"status": "invisible"})
    assert status == 200
    assert body == {
        "status": "invisible",
        "text": "",
        "effective": "offline",
        "connection": "disconnected",
    }


async def test_settings_apply_live(node: Node, http: aiohttp.ClientSession) -> None:
    path = "/api/settings/user_status"
    assert (await _call(http, node, "PUT", path, json={"value": "busy"}))[0] == 200
    assert (await _call(http, node, "GET", "/api/status"))[1]["effective"] == "busy"
    assert (await _call(http, node, "DELETE", path))[1]["value"] == "online"
    assert (await _call(http, node, "GET", "/api/status"))[1]["status"] == "online"


async def test_the_event_socket_sends_the_state_then_changes(
    node: Node, http: aiohttp.ClientSession
) -> None:
    url = node.runtime.base_url + "/api/events"
    async with http.ws_connect(url, headers=_auth(node)) as ws:
        first, second = await ws.receive_json(timeout=5), await ws.receive_json(timeout=5)
        assert (first["type"], second) == (
            "status",
            {"type": "connection", "state": "disconnected"},
        )
        await _call(http, node, "PUT", "/api/status", json={"status": "away", "text": "tea"})
        change = await ws.receive_json(timeout=5)
        assert (change["type"], change["status"], change["text"]) == ("status", "away", "tea")


async def test_the_event_socket_needs_a_token(node: Node, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(node.runtime.base_url + "/api/events")
    assert refused.value.status == 401


# -- runtime file and the CLI's backend ---------------------------------------------


async def test_the_runtime_file_is_owner_only_and_removed_on_stop(tmp_path: Path) -> None:
    path = tmp_path / "node"
    make_identity(path, "alice", UNREACHABLE)
    node = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    runtime = path / RUNTIME_FILE
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
    assert json.loads(runtime.read_text())["port"] == node.runtime.port
    await node.stop()
    assert not runtime.exists()


def test_a_stale_runtime_file_falls_back_to_the_database(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    write_runtime(tmp_path, RuntimeInfo(os.getpid(), "127.0.0.1", 9, "stale", 0.0))
    assert find_node(tmp_path) is None


async def test_the_node_backend_raises_the_nodes_errors(node: Node) -> None:
    import asyncio

    def call() -> KithError:
        backend = NodeBackend(node.runtime)
        try:
            backend.set_status("sleepy")
        except KithError as exc:
            return exc
        finally:
            backend.close()
        raise AssertionError("no error")

    error = await asyncio.to_thread(call)
    assert error.code == "invalid_value"
    assert "sleepy" in error.message


async def test_the_node_backend_offers_every_backend_operation(node: Node) -> None:
    import asyncio

    def use() -> None:
        backend = NodeBackend(node.runtime)
        try:
            assert backend.set_name("alice 2").name == "alice 2"
            assert backend.identity().name == "alice 2"
            assert backend.add_contact(PEER, "bob").name == "bob"
            assert backend.rename_contact(PEER, None).name is None
            assert backend.verify_contact(PEER).verified is True
            details = backend.contact(PEER)
            assert len(details.safety_number) > 0
            assert [c.kith_id for c in backend.contacts()] == [PEER]
            assert backend.set_setting("auto_away_minutes", "5").value == 5
            assert backend.get_setting("auto_away_minutes").value == 5
            assert backend.reset_setting("auto_away_minutes").is_default
            assert len(backend.settings()) > 3
            assert backend.set_status("busy", "x").effective == "busy"
            assert backend.status().text == "x"
            backend.remove_contact(PEER)
            assert backend.contacts() == []
        finally:
            backend.close()

    await asyncio.to_thread(use)


async def test_contacts_left_online_by_a_crash_start_offline(tmp_path: Path) -> None:
    from kith.account import open_store

    path = tmp_path / "node"
    make_identity(path, "alice", UNREACHABLE)
    peer = IdentityKeys(bytes(range(32)))
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store:
        store.contacts.add(peer.kith_id, peer.public_key, None, 1.0)
        store.contacts.update_presence(peer.kith_id, "busy", "stale", 2.0)
    node = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    try:
        (contact,) = await node_contacts(node)
        assert (contact.status, contact.status_text, contact.last_seen) == ("offline", "", 2.0)
    finally:
        await node.stop()


async def node_contacts(node: Node) -> list[Any]:
    import asyncio

    def read() -> list[Any]:
        backend = NodeBackend(node.runtime)
        try:
            return list(backend.contacts())
        finally:
            backend.close()

    return await asyncio.to_thread(read)


async def _raw_request(node: Node, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(node.runtime.host, node.runtime.port)
    writer.write(request)
    await writer.drain()
    async with asyncio.timeout(10):
        answer = await reader.read(200)
    writer.close()
    return answer


async def test_an_oversized_header_is_refused_and_its_bytes_are_not_logged(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = b"HEADERBYTES" * 2000
    answer = await _raw_request(
        node, b"GET /api/status HTTP/1.1\r\nX-Junk: " + secret + b"\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400")
    async with asyncio.timeout(5):
        while "malformed HTTP request" not in caplog.text:  # noqa: ASYNC110 (aiohttp logs after answering)
            await asyncio.sleep(0.01)
    assert "HEADERBYTES" not in caplog.text
    assert "Traceback" not in caplog.text
    ok = await _raw_request(node, b"GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1")  # the server goes on


async def _restart(node: Node, tmp_path: Path) -> Node:
    await node.stop()
    return await Node.start(
        DataDir(tmp_path / "node"),
        FixedPassphrase(PASSPHRASE),
        NodeOptions(),
        logging.getLogger("test"),
    )


async def test_a_browser_session_survives_a_clean_restart_but_not_a_sign_out(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    path = tmp_path / "node"
    make_identity(path, "alice", UNREACHABLE)
    node = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    kept = {"X-Kith-Session": await _session(http, node)}
    ended = {"X-Kith-Session": await _session(http, node)}
    assert (await _call(http, node, "DELETE", "/api/session", headers=ended))[0] == 204
    node = await _restart(node, tmp_path)
    try:
        assert (await _call(http, node, "GET", "/api/status", headers=kept))[0] == 200
        status, body = await _call(http, node, "GET", "/api/status", headers=ended)
        assert (status, _error_code(body)) == (401, "unauthenticated")
        secret = kept["X-Kith-Session"].encode()
        for stored in DataDir(path).path.iterdir():
            if stored.is_file():
                assert secret not in stored.read_bytes(), stored.name  # only a hash, encrypted
    finally:
        await node.stop()
