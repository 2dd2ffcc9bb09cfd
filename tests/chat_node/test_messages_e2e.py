"""Messaging end to end: a real ``kith-signal``, real ``kith run`` nodes, real
WebRTC on loopback, acting through the real CLI and the nodes' local APIs."""

from __future__ import annotations

import json
import threading

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import kith, make_identity, ok

pytestmark = pytest.mark.slow


def test_round_trip_both_ways(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    ok(kith(a.data_dir, "send", "b", "hello bob"))
    got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to receive")
    assert (got[0].text, got[0].sender, got[0].state) == ("hello bob", world.ids["a"], "received")
    sent = world.wait_history(
        "a", "b", lambda ms: ms[0].state == "delivered", "alice to see delivered"
    )
    assert sent[0].id == got[0].id
    ok(kith(b.data_dir, "send", world.ids["a"], "hi alice"))
    world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to receive")
    assert [m.text for m in world.history("a", "b")] == ["hello bob", "hi alice"]


def test_history_survives_restarting_both_nodes(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    ok(kith(a.data_dir, "send", "b", "one"))
    world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to receive one")
    ok(kith(b.data_dir, "send", "a", "two"))
    world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to receive two")
    world.wait_history("b", "a", lambda ms: ms[-1].state == "delivered", "two delivered")
    before = {n: world.history(n, o) for n, o in (("a", "b"), ("b", "a"))}
    assert a.stop() == 0
    assert b.stop() == 0
    # with no node running the CLI reads the database
    stored = json.loads(ok(kith(a.data_dir, "messages", "b", "--json")))
    assert [m["text"] for m in stored] == ["one", "two"]
    world.start("a", "b")
    after = {n: world.history(n, o) for n, o in (("a", "b"), ("b", "a"))}
    assert after == before


def test_outbox_goes_out_when_the_contact_comes_online(world: ChatWorld) -> None:
    # queued with no node running at all (the database backend) ...
    out = ok(kith(world.dirs["a"], "send", "b", "written offline"))
    assert "Queued" in out
    (a,) = world.start("a")
    # ... and through the running node while bob is offline
    out = ok(kith(a.data_dir, "send", world.ids["b"], "while you were away"))
    assert "Queued" in out
    assert [m.state for m in world.history("a", "b")] == ["queued", "queued"]
    world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 2, "bob to get the outbox")
    assert [m.text for m in got] == ["written offline", "while you were away"]
    world.wait_history(
        "a", "b", lambda ms: all(m.state == "delivered" for m in ms), "alice to see delivered"
    )


def test_kill_9_of_the_receiver_mid_burst_loses_and_repeats_nothing(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    texts = [f"burst {i:03d}" for i in range(200)]
    sender = threading.Thread(target=lambda: [a.api.send_message(world.ids["b"], t) for t in texts])
    sender.start()
    partial = world.wait_history("b", "a", lambda ms: len(ms) >= 20, "part of the burst")
    b.kill()
    assert len(partial) < 200  # killed in the middle
    sender.join(30)
    (b,) = world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) >= 200, "bob to get every message", 40)
    assert [m.text for m in got] == texts
    assert len({m.id for m in got}) == 200
    world.wait_history(
        "a", "b", lambda ms: all(m.state == "delivered" for m in ms), "all delivered", 20
    )


def test_edits_deletes_and_reactions_reach_both_sides(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    mid = a.api.send_message(world.ids["b"], "draft").id
    world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to receive")
    ok(kith(a.data_dir, "edit", mid, "final"))
    world.wait_history("b", "a", lambda ms: ms[0].edited and ms[0].text == "final", "the edit")
    ok(kith(b.data_dir, "react", mid, "👍"))
    seen = world.wait_history("a", "b", lambda ms: ms[0].reactions != {}, "the reaction")
    assert seen[0].reactions == {"👍": [world.ids["b"]]}
    ok(kith(a.data_dir, "react", mid, "🎉"))
    world.wait_history("b", "a", lambda ms: "🎉" in ms[0].reactions, "alice's reaction")
    ok(kith(b.data_dir, "react", mid, "👍", "--remove"))
    world.wait_history("a", "b", lambda ms: "👍" not in ms[0].reactions, "the removal")
    refused = kith(b.data_dir, "edit", mid, "not yours")
    assert refused.returncode == 1
    assert "author" in refused.stderr or "own" in refused.stderr
    ok(kith(a.data_dir, "delete", mid))
    gone = world.wait_history("b", "a", lambda ms: ms[0].deleted, "the delete")
    assert (gone[0].text, gone[0].reactions) == ("", {})
    assert world.history("a", "b")[0].deleted


def test_typing_indicator_appears_and_expires(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    watcher = EventWatcher(b)
    try:
        a.api.send_message(world.ids["b"], "hi")
        world.wait_history("a", "b", lambda ms: ms[0].state == "delivered", "an open channel")
        assert call(a, "POST", f"/api/contacts/{world.ids['b']}/typing")[0] == 204
        started = watcher.wait(lambda e: e.get("type") == "typing" and e["typing"], "typing")
        assert started["contact"] == world.ids["a"]
        watcher.wait(
            lambda e: e.get("type") == "typing" and not e["typing"], "typing to expire", 10
        )
    finally:
        watcher.close()


def test_invisible_recipient_pulls_its_messages(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    ok(kith(b.data_dir, "status", "set", "invisible"))
    a.sees(world.ids["b"], "offline")
    watcher = EventWatcher(b)
    try:
        out = ok(kith(a.data_dir, "send", "b", "are you there?"))
        assert "Queued" in out
        got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "the invisible user to pull")
        assert got[0].text == "are you there?"
        notice = watcher.wait(lambda e: e.get("type") == "chat_notice", "the reveal notice")
        assert (notice["code"], notice["contact"]) == ("revealed", world.ids["a"])
        assert any("invisible: connecting to" in line for line in b.lines)  # kith run says so
        world.wait_history("a", "b", lambda ms: ms[0].state == "delivered", "delivered")
        # presence still shows bob offline to alice: only the connection told her
        assert a.contact(world.ids["b"]).status == "offline"
        out = ok(kith(b.data_dir, "send", "a", "quietly here"))
        assert "invisible" in out
        world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to get the reply")
    finally:
        watcher.close()


def test_simultaneous_connect_delivers_both_ways_once(world: ChatWorld) -> None:
    ok(kith(world.dirs["a"], "send", "b", "from a"))
    ok(kith(world.dirs["b"], "send", "a", "from b"))
    world.start("a", "b")
    for me, other in (("a", "b"), ("b", "a")):
        world.wait_history(me, other, lambda ms: len(ms) == 2, f"{me} to have both")
        world.wait_history(
            me, other, lambda ms: all(m.state in ("delivered", "received") for m in ms), "states"
        )
    assert sorted(m.text for m in world.history("a", "b")) == ["from a", "from b"]


def test_bad_input_gets_clear_errors_and_the_node_goes_on(world: ChatWorld) -> None:
    (a,) = world.start("a")
    b_id, stranger = world.ids["b"], make_identity(world.dirs["a"].parent / "s", "s")
    path = f"/api/contacts/{b_id}/messages"
    cases = [
        ("POST", f"/api/contacts/{stranger}/messages", {"text": "hi"}, 404, "unknown_contact"),
        ("POST", "/api/contacts/nonsense/messages", {"text": "hi"}, 400, "malformed_id"),
        ("POST", path, {"text": ""}, 400, "invalid_message"),
        ("POST", path, {"text": "x" * 16_001}, 400, "invalid_message"),
        ("POST", path, {"text": 5}, 400, "bad_request"),
        ("POST", path, b"not json", 400, "bad_request"),
        ("GET", f"{path}?limit=0", None, 400, "bad_request"),
        ("PATCH", "/api/messages/" + "0" * 32, {"text": "x"}, 404, "unknown_message"),
        (
            "POST",
            "/api/messages/" + "0" * 32 + "/reactions",
            {"emoji": "👍"},
            404,
            "unknown_message",
        ),
    ]
    for method, url, body, status, code in cases:
        got = call(a, method, url, body)
        assert (got[0], got[1]["error"]["code"]) == (status, code), (method, url)
    longest = a.api.send_message(b_id, "😀" * 16_000)  # the largest text is accepted
    assert len(longest.text) == 16_000
    mid = a.api.send_message(b_id, "mine").id
    assert call(a, "POST", f"/api/messages/{mid}/reactions", {"emoji": ""})[0] == 400
    failed = kith(a.data_dir, "send", "nobody", "hi")
    assert failed.returncode == 1
    assert "no contact" in failed.stderr
    assert [m.text for m in world.history("a", "b")][1:] == ["mine"]


def test_a_queued_message_survives_a_crash_of_the_sender(world: ChatWorld) -> None:
    (a,) = world.start("a")
    queued = a.api.send_message(world.ids["b"], "kept through a crash")
    assert queued.state == "queued"  # answered only once stored
    a.kill()
    world.start("a", "b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to get it")
    assert (got[0].id, got[0].text) == (queued.id, "kept through a crash")


def test_a_reply_arrives_naming_the_original_and_a_bad_one_is_refused(
    world: ChatWorld,
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    original = a.api.send_message(world.ids["b"], "lunch?").id
    world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to receive")
    out = json.loads(ok(kith(b.data_dir, "send", "a", "yes", "--reply-to", original, "--json")))
    assert out["reply_to"] == original
    world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to receive the reply")
    shown = json.loads(ok(kith(a.data_dir, "messages", "b", "--json")))
    assert [(m["text"], m["reply_to"]) for m in shown] == [("lunch?", None), ("yes", original)]
    unknown = kith(b.data_dir, "send", "a", "re", "--reply-to", "e" * 32)
    assert (unknown.returncode, "Traceback" in unknown.stderr) == (1, False)
    assert "no message" in unknown.stderr
    malformed = kith(b.data_dir, "send", "a", "re", "--reply-to", "nope")
    assert malformed.returncode == 1
    assert "32 lowercase hex" in malformed.stderr
    assert len(world.history("b", "a")) == 2
