"""Publish tokens in the sans-I/O server core: only a holder writes a topic."""

from __future__ import annotations

import os

import pytest

from kith_proto import wire
from kith_proto.server_core import (
    Action,
    PublishBatchRequest,
    PublishRequest,
    RetractRequest,
    ServerConfig,
    ServerConnection,
)
from kith_proto.wire import ErrorCode
from kith_testkit.server_sessions import URL, refusal, signed_in

RAW_TOKEN = b"k" * 32
TOKEN = wire.encode_topic(RAW_TOKEN)
TOPIC = wire.encode_topic(wire.token_topic(RAW_TOKEN))
FORGED = wire.encode_topic(os.urandom(32))


def only_refusal(actions: list[Action]) -> wire.Error:
    assert len(actions) == 1  # the refusal and nothing else
    return refusal(actions)


def ready() -> ServerConnection:
    return signed_in(ServerConfig(public_url=URL))


def test_the_topic_is_the_hash_of_the_token() -> None:
    assert wire.token_topic(RAW_TOKEN) == wire.decode_topic(TOPIC)
    assert wire.token_topic(os.urandom(32)) != wire.token_topic(RAW_TOKEN)
    with pytest.raises(wire.WireFormatError):
        wire.token_topic(b"short")


def test_a_publish_with_the_token_becomes_a_request() -> None:
    frame = wire.Publish(topic=TOPIC, token=TOKEN, payload="AA", ref=1)
    assert ready().receive(wire.encode(frame), 1.0) == [PublishRequest(1, TOPIC, "AA")]


def test_a_publish_with_another_token_is_refused_with_bad_token() -> None:
    frame = wire.Publish(topic=TOPIC, token=FORGED, payload="AA", ref=2)
    error = only_refusal(ready().receive(wire.encode(frame), 1.0))
    assert (error.code, error.ref) == (ErrorCode.BAD_TOKEN, 2)


def test_a_publish_without_a_token_is_malformed() -> None:
    frame = '{"type":"publish","topic":"' + TOPIC + '","payload":"AA","ref":3}'
    assert only_refusal(ready().receive(frame, 1.0)).code == ErrorCode.MALFORMED


def test_a_batch_with_one_foreign_item_is_refused_whole() -> None:
    items = [
        wire.PublishItem(topic=TOPIC, token=TOKEN, payload="AA"),
        wire.PublishItem(topic=TOPIC, token=FORGED, payload="AA"),
    ]
    actions = ready().receive(wire.encode(wire.PublishBatch(items=items, ref=4)), 1.0)
    assert only_refusal(actions).code == ErrorCode.BAD_TOKEN
    assert not any(isinstance(a, PublishBatchRequest) for a in actions)


def test_a_retract_with_the_tokens_becomes_a_request() -> None:
    frame = wire.Retract(topics=[TOPIC], tokens=[TOKEN], ref=5)
    assert ready().receive(wire.encode(frame), 1.0) == [RetractRequest(5, (TOPIC,))]


@pytest.mark.parametrize("tokens", [[FORGED], [], [TOKEN, TOKEN]])
def test_a_retract_without_matching_tokens_is_refused(tokens: list[str]) -> None:
    frame = wire.Retract(topics=[TOPIC], tokens=tokens, ref=6)
    error = only_refusal(ready().receive(wire.encode(frame), 1.0))
    assert (error.code, error.ref) == (ErrorCode.BAD_TOKEN, 6)
