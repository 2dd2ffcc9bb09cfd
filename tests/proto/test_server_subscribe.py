"""The server core's side of ``subscribe``: the reply budget and its cost
in rate tokens; and the per-address refusal. No loop, no sockets."""

from __future__ import annotations

import pytest

from kith_proto import wire
from kith_proto.limits import ServerConfig, retained_size
from kith_proto.server_core import (
    Action,
    Close,
    Send,
    ServerConnection,
    SubscribeRequest,
    address_full,
)
from kith_proto.wire import CloseCode, ErrorCode
from kith_testkit.server_sessions import URL, signed_in

TOPIC = wire.encode_topic(b"t" * 32)
PER_TOKEN = 1000


def ready(burst: int = 10, rate: float = 1.0) -> ServerConnection:
    config = ServerConfig(public_url=URL, burst=burst, rate=rate, reply_bytes_per_token=PER_TOKEN)
    return signed_in(config, tag_key=b"k" * 32)


def subscribe(conn: ServerConnection, ref: int = 1, now: float = 0.0) -> SubscribeRequest:
    (request,) = conn.receive(wire.encode(wire.Subscribe(topics=[TOPIC], ref=ref)), now)
    assert isinstance(request, SubscribeRequest)
    return request


def retained(text_bytes: int) -> list[wire.Retained]:
    """One retained value whose topic and payload take ``text_bytes`` on the wire."""
    return [wire.Retained(topic=TOPIC, payload="p" * (text_bytes - len(TOPIC)))]


def first_error(actions: list[Action]) -> wire.Error:
    errors = [a.message for a in actions if isinstance(a, Send)]
    error = errors[0]
    assert isinstance(error, wire.Error), actions
    return error


def test_reply_cost_is_one_token_per_started_unit() -> None:
    config = ServerConfig(public_url=URL, reply_bytes_per_token=PER_TOKEN)
    assert [config.reply_cost(n) for n in (0, 1, 1000, 1001, 5000)] == [1, 1, 1, 2, 5]


def test_retained_size_is_the_text_on_the_wire() -> None:
    for size in (0, 1, 2, 3, 933, 32768):
        assert retained_size(size) == len(TOPIC) + len(wire.encode_payload(b"x" * size))


def test_subscribe_request_carries_what_the_tokens_pay_for() -> None:
    conn = ready(burst=10)
    # auth took one of ten tokens, the frame one more: that one and the eight left.
    assert subscribe(conn).max_reply_bytes == 9 * PER_TOKEN


def test_small_reply_costs_only_the_frame() -> None:
    conn = ready(burst=10)
    reply = conn.subscribed(subscribe(conn), retained(PER_TOKEN), 0.0)
    assert isinstance(reply.message, wire.Subscribed)
    assert subscribe(conn, ref=2).max_reply_bytes == 8 * PER_TOKEN


def test_large_reply_spends_tokens_so_the_next_frames_are_rate_limited() -> None:
    conn = ready(burst=10, rate=1.0)
    reply = conn.subscribed(subscribe(conn), retained(9 * PER_TOKEN), 0.0)
    assert [r.topic for r in reply.message.retained] == [TOPIC]  # type: ignore[union-attr]
    refused = conn.receive(wire.encode(wire.Subscribe(topics=[TOPIC], ref=2)), 0.0)
    assert first_error(refused).code == ErrorCode.RATE_LIMITED
    # A second later one token is back: a small subscribe goes through.
    assert subscribe(conn, ref=3, now=1.0).max_reply_bytes == PER_TOKEN


def test_reply_size_is_not_charged_to_a_closed_bucket_below_zero() -> None:
    conn = ready(burst=2)
    conn.subscribed(subscribe(conn), retained(50 * PER_TOKEN), 0.0)
    # Tokens refill from zero, not from a debt: after 2 s at 1/s, two are back.
    assert subscribe(conn, ref=2, now=2.0).max_reply_bytes == 2 * PER_TOKEN


def test_address_full_says_goodbye_and_closes_1013() -> None:
    bye, close = address_full()
    assert isinstance(bye, Send)
    assert isinstance(close, Close)
    assert bye.message == wire.Bye(
        code=ErrorCode.TOO_MANY_CONNECTIONS,
        message="too many connections from this address",
        reconnect=True,
    )
    assert close.code == CloseCode.TRY_AGAIN_LATER


@pytest.mark.parametrize("per_token", [0, -1])
def test_reply_bytes_per_token_must_be_positive(per_token: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        ServerConfig(public_url=URL, reply_bytes_per_token=per_token)
