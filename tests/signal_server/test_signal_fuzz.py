"""Property: malformed and oversized frames never break a live server; a
well-behaved client still gets presence through afterwards."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection as SyncWebSocket
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import ClientConnection, SubscriptionConfirmed, TopicValue
from kith_proto.wire import CloseCode
from kith_testkit.signal.process import WAIT, SignalProcess, running

MAX_FRAME = 4096
E = TypeVar("E")
DOCUMENTED_CLOSES = {CloseCode.MESSAGE_TOO_BIG, CloseCode.ABUSE, CloseCode.AUTH_FAILED}
TYPES = [
    "auth",
    "subscribe",
    "unsubscribe",
    "publish",
    "retract",
    "relay",
    "intro",
    "event",
    "welcome",
    "",
]


@pytest.fixture(scope="module")
def server() -> Iterator[SignalProcess]:
    yield from running("--rate", "100000", "--max-frame-bytes", str(MAX_FRAME))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
topic_like = st.one_of(
    st.just(wire.encode_topic(b"\x01" * 32)),
    st.text(alphabet="ABCabc-_019", min_size=40, max_size=46),
    st.text(max_size=50),
)
framed = st.builds(
    lambda kind, fields: json.dumps({"type": kind, **fields}),
    st.sampled_from(TYPES),
    st.dictionaries(
        st.sampled_from(["topic", "topics", "payload", "ref", "key", "signature", "x"]),
        st.one_of(json_values, topic_like, st.lists(topic_like, max_size=3)),
        max_size=4,
    ),
)
frames = st.one_of(
    framed,
    st.text(max_size=200),
    st.binary(max_size=200),
    json_values.map(json.dumps),
    st.integers(MAX_FRAME - 10, MAX_FRAME * 3).map(lambda n: "x" * n),
)


def authenticate(ws: SyncWebSocket, url: str) -> ClientConnection:
    core = ClientConnection(IdentityKeys.generate(), url)
    while core.state.value != "ready":
        core.receive(ws.recv(timeout=WAIT), time.monotonic())
        for frame in core.data_to_send():
            ws.send(frame)
    return core


def check_reply(ws: SyncWebSocket) -> bool:
    """One reply per frame, always a valid server frame; False once closed."""
    try:
        reply = ws.recv(timeout=WAIT)
    except ConnectionClosed:
        assert ws.protocol.close_rcvd is not None
        assert ws.protocol.close_rcvd.code in DOCUMENTED_CLOSES
        return False
    wire.decode_server_message(reply)
    return True


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(frames, min_size=1, max_size=4), authenticated=st.booleans())
def test_garbage_gets_error_frames_or_a_documented_close(
    server: SignalProcess, batch: list[str | bytes], authenticated: bool
) -> None:
    protocols = [Subprotocol(wire.SUBPROTOCOL)]
    with connect(server.url, subprotocols=protocols, compression=None, open_timeout=WAIT) as ws:
        if authenticated:
            authenticate(ws, server.url)
        else:
            ws.recv(timeout=WAIT)  # the challenge
        for frame in batch:
            try:
                ws.send(frame)
            except ConnectionClosed:
                break
            if not check_reply(ws):
                break


def open_ws(url: str) -> SyncWebSocket:
    return connect(url, subprotocols=[Subprotocol(wire.SUBPROTOCOL)], compression=None)


def next_event(ws: SyncWebSocket, core: ClientConnection, kind: type[E]) -> E:
    deadline = time.monotonic() + WAIT
    while True:
        remaining = max(0.01, deadline - time.monotonic())
        for event in core.receive(ws.recv(timeout=remaining), time.monotonic()):
            if isinstance(event, kind):
                return event


def test_well_behaved_client_still_gets_presence_after_the_barrage(server: SignalProcess) -> None:
    test_garbage_gets_error_frames_or_a_documented_close(server)
    assert server.proc.poll() is None, "the server survived"
    assert "event=error_sent" in server.log_text()
    assert "level=error" not in server.log_text(), "no handler crashed"
    with open_ws(server.url) as a_ws, open_ws(server.url) as b_ws:
        alice, bob = authenticate(a_ws, server.url), authenticate(b_ws, server.url)
        token = os.urandom(32)
        topic = wire.token_topic(token)
        bob.subscribe([topic])
        for frame in bob.data_to_send():
            b_ws.send(frame)
        next_event(b_ws, bob, SubscriptionConfirmed)
        alice.publish(token, b"online")
        for frame in alice.data_to_send():
            a_ws.send(frame)
        assert next_event(b_ws, bob, TopicValue) == TopicValue(topic, b"online")
