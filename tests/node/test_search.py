"""Search across history: ``kith search`` (with and without a node) and ``GET /api/search``."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kith.account import open_store
from kith.chat import Message, MessageState, Party
from kith.datadir import DataDir
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, add_contact, kith, make_identity, ok

BOB = IdentityKeys(bytes(range(32))).kith_id
M1, M2 = "a1" * 16, "b2" * 16
UNREACHABLE = "ws://127.0.0.1:9"


def _history(path: Path) -> None:
    texts = [(M1, Party.PEER, "shall we meet at the lighthouse"), (M2, Party.ME, "yes, noon")]
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store, store.transaction():
        for n, (mid, who, text) in enumerate(texts):
            message = Message(mid, who, text, int(time.time() * 1000), MessageState.SENT, n + 1)
            store.messages.put(BOB, message)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "alice"
    make_identity(path, "alice", UNREACHABLE)
    add_contact(path, BOB, "bob")
    _history(path)
    return path


def test_kith_search_finds_a_message_and_names_the_contact(home: Path) -> None:
    out = ok(kith(home, "search", "lighthouse"))
    assert "bob: shall we meet at the lighthouse" in out
    assert f"({M1})" in out


def test_kith_search_json(home: Path) -> None:
    found = json.loads(ok(kith(home, "search", "noon", "--json")))
    assert [(r["contact"], r["message"]["id"], r["message"]["text"]) for r in found] == [
        (BOB, M2, "yes, noon")
    ]


def test_kith_search_with_no_match_says_so(home: Path) -> None:
    assert "No messages found" in ok(kith(home, "search", "zeppelin"))


@pytest.mark.parametrize("typed", ["!!!", '"', "   "])
def test_kith_search_of_unsearchable_text_is_a_clear_error(home: Path, typed: str) -> None:
    done = kith(home, "search", typed)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("kith: type at least one word")


def test_query_syntax_typed_by_a_user_is_searched_as_text(home: Path) -> None:
    assert json.loads(ok(kith(home, "search", 'lighthouse OR "nothing', "--json"))) == []
    assert len(json.loads(ok(kith(home, "search", "meet AND", "--json")))) == 0


@pytest.fixture
async def node(home: Path) -> AsyncIterator[Node]:
    running = await Node.start(
        DataDir(home), FixedPassphrase(PASSPHRASE), NodeOptions(), logging.getLogger("test")
    )
    yield running
    await running.stop()


async def _get(node: Node, path: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {node.runtime.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(node.runtime.base_url + path, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_the_api_searches_the_history(node: Node) -> None:
    status, body = await _get(node, "/api/search?q=LIGHT")
    assert status == 200
    assert body == {
        "results": [
            {
                "contact": BOB,
                "message": {
                    "id": M1,
                    "from": BOB,
                    "text": "shall we meet at the lighthouse",
                    "sent_at": pytest.approx(time.time(), abs=60),
                    "state": "sent",
                    "edited": False,
                    "deleted": False,
                    "reactions": {},
                    "reply_to": None,
                    "via": "direct",
                },
            }
        ]
    }


@pytest.mark.parametrize("query", ["?q=", "?q=%21%21", "?q=x&limit=0", "?q=x&limit=abc"])
async def test_the_api_refuses_unsearchable_input_with_400(node: Node, query: str) -> None:
    status, body = await _get(node, "/api/search" + query)
    assert status == 400
    assert body["error"]["code"] in {"bad_search", "bad_request"}  # type: ignore[index]


async def test_kith_search_goes_through_the_running_node(node: Node, home: Path) -> None:
    headers = {"Authorization": f"Bearer {node.runtime.token}"}
    url = f"{node.runtime.base_url}/api/contacts/{BOB}/messages"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"text": "a fresh note about the harbour"}, headers=headers) as sent,
    ):
        assert sent.status == 201
    done = await asyncio.to_thread(kith, home, "search", "harbour", "--json")
    found = json.loads(ok(done))
    assert [r["message"]["text"] for r in found] == ["a fresh note about the harbour"]
