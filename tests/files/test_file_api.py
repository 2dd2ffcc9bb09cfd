"""The file endpoints of an in-process node: uploads and downloads streamed,
paths only for the API token, bad input. The contact stays offline (the node's
signaling server is unreachable), so transfers stay queued."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kith.datadir import DataDir
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, add_contact, make_identity

PEER = IdentityKeys(bytes(range(32))).kith_id
UNREACHABLE = "ws://127.0.0.1:9"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    path = tmp_path / "node"
    make_identity(path, "alice", UNREACHABLE)
    add_contact(path, PEER, "bob")
    running = await Node.start(
        DataDir(path), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    yield running
    await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _token(node: Node) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.runtime.token}"}


async def _call(
    http: aiohttp.ClientSession, node: Node, method: str, path: str, headers: dict[str, str],
    **kwargs: Any,
) -> tuple[int, Any]:  # fmt: skip
    async with http.request(
        method, node.runtime.base_url + path, headers=headers, **kwargs
    ) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def _session(http: aiohttp.ClientSession, node: Node) -> dict[str, str]:
    _, body = await _call(http, node, "POST", "/api/login-codes", _token(node))
    _, body = await _call(http, node, "POST", "/api/sessions", {}, json={"code": body["code"]})
    return {"X-Kith-Session": str(body["session"])}


async def _chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_an_upload_is_queued_and_downloads_byte_identical(
    node: Node, http: aiohttp.ClientSession
) -> None:
    data = os.urandom(300_000)
    status, body = await _call(
        http, node, "POST",
        f"/api/contacts/{PEER}/files/upload?name=..%2F..%2Fevil%0A.txt&caption=hi",
        _token(node), data=_chunks(data),
    )  # fmt: skip
    assert status == 201, body
    file = body["file"]
    assert (file["name"], file["size"], file["caption"]) == ("evil.txt", 300_000, "hi")
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert (file["state"], body["message"]["state"]) == ("queued", "queued")
    assert body["message"]["id"] == file["id"]
    url = f"{node.runtime.base_url}/api/files/{file['id']}/content"
    async with http.get(url, headers=_token(node)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"evil.txt\"; filename*=UTF-8''evil.txt"
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.read() == data


async def test_a_browser_session_can_upload_but_never_name_a_path(
    node: Node, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    session = await _session(http, node)
    source = tmp_path / "secret.txt"
    source.write_text("the user's own file")
    status, body = await _call(
        http, node, "POST", f"/api/contacts/{PEER}/files", session, json={"path": str(source)}
    )
    assert (status, body["error"]["code"]) == (403, "token_required")
    status, body = await _call(
        http, node, "POST", f"/api/contacts/{PEER}/files/upload?name=a.txt", session, data=b"hey"
    )
    assert status == 201
    file_id = body["file"]["id"]
    status, body = await _call(
        http, node, "POST", f"/api/files/{file_id}/save", session,
        json={"dest": str(tmp_path / "out")},
    )  # fmt: skip
    assert (status, body["error"]["code"]) == (403, "token_required")
    assert not (tmp_path / "out").exists()
    status, body = await _call(http, node, "GET", f"/api/contacts/{PEER}/files", session)
    assert [f["name"] for f in body["files"]] == ["a.txt"]


async def test_bad_file_requests_are_clear_errors(node: Node, http: aiohttp.ClientSession) -> None:
    token = _token(node)
    cases = [
        ("POST", f"/api/contacts/{PEER}/files/upload", b"x", 400, "bad_request"),
        ("GET", f"/api/files/{'0' * 32}/content", None, 404, "unknown_transfer"),
        ("POST", f"/api/files/{'0' * 32}/cancel", None, 404, "unknown_transfer"),
        ("POST", f"/api/contacts/{'A' * 56}/files/upload?name=a", b"x", 400, None),
        ("POST", f"/api/contacts/{PEER}/files", b"not json", 400, "bad_request"),
        ("POST", f"/api/contacts/{PEER}/files", b'{"path": 3}', 400, "bad_request"),
    ]
    for method, path, data, want_status, want_code in cases:
        status, body = await _call(http, node, method, path, token, data=data)
        assert status == want_status, (path, body)
        if want_code is not None:
            assert body["error"]["code"] == want_code, path


async def test_a_queued_file_cancelled_stays_downloadable_for_its_sender(
    node: Node, http: aiohttp.ClientSession
) -> None:
    status, body = await _call(
        http, node, "POST", f"/api/contacts/{PEER}/files/upload?name=a.bin", _token(node),
        data=b"abc",
    )  # fmt: skip
    file_id = body["file"]["id"]
    status, body = await _call(http, node, "POST", f"/api/files/{file_id}/cancel", _token(node))
    assert (status, body["state"], body["reason"]) == (200, "cancelled", "cancelled")
    url = f"{node.runtime.base_url}/api/files/{file_id}/content"
    async with http.get(url, headers=_token(node)) as response:
        assert await response.read() == b"abc"
