"""``publish_batch`` in the sans-I/O server core: limits, weight, acks."""

from __future__ import annotations

import os

import pytest

from kith_proto import wire
from kith_proto.server_core import (
    Action,
    PublishBatchRequest,
    PublishRequest,
    Send,
    ServerConfig,
    ServerConnection,
)
from kith_proto.wire import ErrorCode
from kith_testkit.server_sessions import URL, signed_in

TOKEN = wire.encode_topic(b"k" * 32)
TOPIC = wire.encode_topic(wire.token_topic(b"k" * 32))


def ready(**limits: float) -> ServerConnection:
    config = ServerConfig(public_url=URL, **limits)  # type: ignore[arg-type]
    return signed_in(config, tag_key=b"k" * 32)


def sent(actions: list[Action]) -> list[wire.ServerMessage]:
    return [action.message for action in actions if isinstance(action, Send)]


def error_code(actions: list[Action]) -> str:
    errors = [m for m in sent(actions) if isinstance(m, wire.Error)]
    assert errors, actions
    return errors[0].code


def batch(count: int, *, ref: int | None = 1, payload: str = "AA") -> str:
    items = [
        wire.PublishItem(
            topic=wire.encode_topic(wire.token_topic(t)),
            token=wire.encode_topic(t),
            payload=payload,
        )
        for t in (os.urandom(32) for _ in range(count))
    ]
    return wire.encode(wire.PublishBatch(items=items, ref=ref))


def test_a_batch_becomes_one_request_with_every_item() -> None:
    conn = ready()
    (request,) = conn.receive(batch(3, ref=7), 1.0)
    assert isinstance(request, PublishBatchRequest)
    assert request.ref == 7
    assert len(request.items) == 3
    assert request.done() == Send(wire.Ack(ref=7))


def test_publishes_without_a_ref_are_not_acknowledged() -> None:
    conn = ready()
    (request,) = conn.receive(batch(2, ref=None), 1.0)
    assert isinstance(request, PublishBatchRequest)
    assert request.done() is None
    (single,) = conn.receive(wire.encode(wire.Publish(topic=TOPIC, token=TOKEN, payload="AA")), 1.0)
    assert isinstance(single, PublishRequest)
    assert single.done() is None


def test_a_batch_beyond_max_batch_is_refused() -> None:
    conn = ready(max_batch=4)
    actions = conn.receive(batch(5, ref=3), 1.0)
    assert error_code(actions) == ErrorCode.BATCH_TOO_LARGE
    assert sent(actions)[0] == wire.Error(
        code=ErrorCode.BATCH_TOO_LARGE, message="at most 4 items per publish_batch", ref=3
    )


def test_a_server_without_batches_refuses_them() -> None:
    conn = ready(max_batch=0)
    assert error_code(conn.receive(batch(1), 1.0)) == ErrorCode.BATCH_TOO_LARGE


def test_an_empty_batch_is_malformed() -> None:
    conn = ready()
    assert error_code(conn.receive(batch(0), 1.0)) == ErrorCode.MALFORMED


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"publish_batch","items":[{"topic":"nope","payload":"AA"}]}',
        '{"type":"publish_batch","items":[{"topic":"' + TOPIC + '"}]}',
        '{"type":"publish_batch","items":[{"topic":"' + TOPIC + '","payload":"!!"}]}',
        '{"type":"publish_batch","items":[{"topic":"' + TOPIC + '","payload":"AA","x":1}]}',
        '{"type":"publish_batch","items":{"topic":"' + TOPIC + '","payload":"AA"}}',
        '{"type":"publish_batch"}',
    ],
)
def test_malformed_items_are_refused(frame: str) -> None:
    assert error_code(ready().receive(frame, 1.0)) == ErrorCode.MALFORMED


def test_one_oversized_payload_refuses_the_whole_batch() -> None:
    conn = ready(max_frame_bytes=4000, max_payload_bytes=100)
    items = [
        wire.PublishItem(topic=TOPIC, token=TOKEN, payload="AA"),
        wire.PublishItem(topic=TOPIC, token=TOKEN, payload=wire.encode_payload(b"x" * 101)),
    ]
    actions = conn.receive(wire.encode(wire.PublishBatch(items=items, ref=2)), 1.0)
    assert error_code(actions) == ErrorCode.PAYLOAD_TOO_LARGE
    assert not any(isinstance(a, PublishBatchRequest) for a in actions)


def test_batch_cost_is_one_token_per_started_block_of_items() -> None:
    config = ServerConfig(public_url="ws://x", batch_items_per_token=16)
    assert [config.batch_cost(n) for n in (1, 16, 17, 32, 256)] == [1, 1, 2, 2, 16]


def test_a_batch_pays_for_its_items_under_the_rate_limit() -> None:
    conn = ready(rate=0.0, burst=11, batch_items_per_token=16, max_batch=256)  # auth: 10 left
    (request,) = conn.receive(batch(128), 1.0)  # 8 tokens: 2 left
    assert isinstance(request, PublishBatchRequest)
    # 48 items cost 3: the frame pays 1 on arrival, the other 2 are missing.
    assert error_code(conn.receive(batch(48), 1.0)) == ErrorCode.RATE_LIMITED
    (request,) = conn.receive(batch(16), 1.0)  # 1 token: the last one
    assert isinstance(request, PublishBatchRequest)


def test_limits_announce_the_batch_size_and_weight() -> None:
    limits = ServerConfig(public_url="ws://x", max_batch=64, batch_items_per_token=8).limits
    assert (limits.max_batch, limits.batch_items_per_token) == (64, 8)
