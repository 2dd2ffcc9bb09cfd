"""Calls between two real nodes through a real kith-signal, driven through the local API
(the pages' part played by the test): ring, answer, the pages' signals relayed sealed
in the pair channel, hang-up with log entries on both sides, decline, busy, and a call
to an offline contact refused at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD:EF\r\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path_factory.mktemp("calls"), "abc")
    w.start("a", "b")
    w.online("a", "b")
    yield w
    w.close()


def _call_events(watcher: EventWatcher, call_id: str, state: str) -> dict[str, Any]:
    return watcher.wait(
        lambda e: (
            e["type"] == "call" and e["call"]["id"] == call_id and e["call"]["state"] == state
        ),
        f"call {call_id[:6]} {state}",
    )


def _log(world: ChatWorld, who: str, other: str, count: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        status, body = call(world.nodes[who], "GET", f"/api/contacts/{world.ids[other]}/calls")
        assert status == 200
        return body["calls"] if len(body["calls"]) >= count else None

    return wait_for(probe, f"{count} calls in {who}'s log")


def test_an_answered_call_relays_the_pages_signals_and_ends_on_both_sides(
    world: ChatWorld,
) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    wa, wb = EventWatcher(a), EventWatcher(b)
    try:
        status, started = call(a, "POST", f"/api/contacts/{world.ids['b']}/calls", {"video": True})
        assert status == 201, started
        cid = started["id"]
        assert (started["state"], started["direction"], started["video"]) == (
            "ringing_out", "out", True,
        )  # fmt: skip
        ringing = _call_events(wb, cid, "ringing_in")["call"]
        assert (ringing["contact"], ringing["video"]) == (world.ids["a"], True)

        # a signal before the call is answered is refused
        status, body = call(a, "POST", f"/api/calls/{cid}/signal", {"kind": "offer", "data": OFFER})
        assert (status, body["error"]["code"]) == (409, "illegal_transition")

        assert call(b, "POST", f"/api/calls/{cid}/accept")[0] == 200
        _call_events(wa, cid, "connecting")
        assert (
            call(a, "POST", f"/api/calls/{cid}/signal", {"kind": "offer", "data": OFFER})[0] == 200
        )
        got = wb.wait(lambda e: e["type"] == "call_signal" and e["id"] == cid, "the offer")
        assert (got["kind"], got["data"]) == ("offer", OFFER)
        cand = '{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0"}'
        assert call(b, "POST", f"/api/calls/{cid}/signal", {"kind": "ice", "data": cand})[0] == 200
        got = wa.wait(lambda e: e["type"] == "call_signal" and e["kind"] == "ice", "the candidate")
        assert got["data"] == cand

        # bad signals are refused before anything is sent
        status, body = call(a, "POST", f"/api/calls/{cid}/signal", {"kind": "x", "data": "y"})
        assert (status, body["error"]["code"]) == (400, "malformed_call_frame")
        status, body = call(a, "POST", f"/api/calls/{cid}/signal", {"kind": "ice"})
        assert status == 400

        for node in (a, b):
            assert call(node, "POST", f"/api/calls/{cid}/media", {"flowing": True})[0] == 200
        _call_events(wa, cid, "connected")
        _call_events(wb, cid, "connected")

        # b's page lost its media: b's side reconnects (a's goes on), then media is back
        status, body = call(b, "POST", f"/api/calls/{cid}/media", {"flowing": False})
        assert (status, body["state"]) == (200, "reconnecting")
        _call_events(wb, cid, "reconnecting")
        status, body = call(b, "POST", f"/api/calls/{cid}/media", {"flowing": True})
        assert (status, body["state"]) == (200, "connected")
        assert body["connected_at"] is not None  # the call's time runs on from the first
        [live] = call(a, "GET", "/api/calls")[1]["calls"]
        assert live["state"] == "connected"

        ended = call(a, "POST", f"/api/calls/{cid}/hangup")[1]
        assert (ended["state"], ended["reason"], ended["outcome"]) == (
            "ended",
            "hangup",
            "answered",
        )
        theirs = _call_events(wb, cid, "ended")["call"]
        assert (theirs["reason"], theirs["outcome"]) == ("remote_hangup", "answered")
        mine = _log(world, "a", "b", 1)[-1]
        assert (mine["id"], mine["direction"], mine["outcome"], mine["video"]) == (
            cid, "out", "answered", True,
        )  # fmt: skip
        assert _log(world, "b", "a", 1)[-1]["direction"] == "in"
        assert call(a, "POST", f"/api/calls/{cid}/hangup")[0] == 404  # gone
    finally:
        wa.close()
        wb.close()


def test_a_declined_call_and_a_busy_callee(world: ChatWorld) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    wa, wb = EventWatcher(a), EventWatcher(b)
    try:
        cid = call(a, "POST", f"/api/contacts/{world.ids['b']}/calls", {})[1]["id"]
        _call_events(wb, cid, "ringing_in")
        assert call(b, "POST", f"/api/calls/{cid}/decline")[1]["outcome"] == "declined"
        assert _call_events(wa, cid, "ended")["call"]["reason"] == "remote_declined"

        assert call(b, "PUT", "/api/status", {"status": "busy"})[0] == 200
        cid = call(a, "POST", f"/api/contacts/{world.ids['b']}/calls", {})[1]["id"]
        assert _call_events(wa, cid, "ended")["call"]["reason"] == "busy"
        missed = _call_events(wb, cid, "ended")["call"]
        assert missed["outcome"] == "missed"
        assert not [e for e in wb.events if e["type"] == "call" and e["call"]["id"] == cid
                    and e["call"]["state"] == "ringing_in"]  # fmt: skip
        assert _log(world, "b", "a", 3)[-1]["outcome"] == "missed"
    finally:
        call(b, "PUT", "/api/status", {"status": "online"})
        wa.close()
        wb.close()


def test_a_call_to_an_offline_contact_fails_at_once_and_shows_missed_there_later(
    world: ChatWorld,
) -> None:
    started = time.monotonic()
    status, body = call(world.nodes["a"], "POST", f"/api/contacts/{world.ids['c']}/calls", {})
    assert (status, body["error"]["code"]) == (409, "not_reachable")
    assert time.monotonic() - started < 2.0
    [mine] = _log(world, "a", "c", 1)
    assert (mine["outcome"], mine["reason"]) == ("unanswered", "not_reachable")
    world.start("c")
    [theirs] = _log(world, "c", "a", 1)
    assert (theirs["id"], theirs["direction"], theirs["outcome"]) == (mine["id"], "in", "missed")
    status, body = call(world.nodes["a"], "POST", f"/api/contacts/{'d' * 56}/calls", {})
    assert status in (400, 404)


def test_a_call_with_no_page_open_on_the_other_side_is_not_reachable(world: ChatWorld) -> None:
    a = world.nodes["a"]
    wa = EventWatcher(a)  # b has no page (no events socket) open
    try:
        cid = call(a, "POST", f"/api/contacts/{world.ids['b']}/calls", {})[1]["id"]
        ended = _call_events(wa, cid, "ended")["call"]
        assert (ended["reason"], ended["outcome"]) == ("not_reachable", "unanswered")
        theirs = _log(world, "b", "a", 4)[-1]
        assert (theirs["id"], theirs["outcome"]) == (cid, "missed")
    finally:
        wa.close()


def test_a_contact_ringing_too_fast_is_dropped_beyond_the_burst(world: ChatWorld) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    wb = EventWatcher(b)
    rings = 14
    try:
        ids = []
        for _ in range(rings):
            cid = call(a, "POST", f"/api/contacts/{world.ids['b']}/calls", {})[1]["id"]
            assert call(a, "POST", f"/api/calls/{cid}/hangup")[1]["reason"] == "cancelled"
            ids.append(cid)

        def ended() -> set[str]:
            return {
                e["call"]["id"] for e in list(wb.events)
                if e["type"] == "call" and e["call"]["state"] == "ended"
            }  # fmt: skip

        def refused() -> int:  # the hang-up of a dropped ring names a call b never had
            return sum(
                "refused a call frame" in line and "unknown_call" in line for line in b.lines
            )

        wait_for(lambda: len(ended() & set(ids)) + refused() == rings or None, "every ring handled")
        assert 0 < len(ended() & set(ids)) < rings
        assert any(
            "refused a call frame" in line and "illegal_transition" in line for line in b.lines
        )
    finally:
        wb.close()
