"""Publish tokens in the sans-I/O server core: only a holder writes a topic."""

from __future__ import annotations

import os

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.auth import sign_auth
from kith_proto.server_core import (
    Action,
    PublishBatchRequest,
    PublishRequest,
    RetractRequest,
    Send,
    ServerConfig,
    ServerConnection,
    ServerState,
)
from kith_proto.wire import ErrorCode

URL = "ws://127.0.0.1:9000"
NONCE = b"n" * 32
RAW_TOKEN = b"k" * 32
TOKEN = wire.encode_topic(RAW_TOKEN)
TOPIC = wire.encode_topic(wire.token_topic(RAW_TOKEN))
FORGED = wire.encode_topic(os.urandom(32))


def ready() -> ServerConnection:
    conn = ServerConnection(ServerConfig(public_url=URL), nonce=NONCE, tag_key=NONCE, now=0.0)
    keys = IdentityKeys.generate()
    auth = wire.Auth(
        key_type="ed25519",
        key=wire.encode_payload(keys.public_key),
        challenge=wire.encode_payload(NONCE),
        server=URL,
        signature=wire.encode_payload(sign_auth(keys, NONCE, URL)),
    )
    conn.receive(wire.encode(auth), 0.0)
    assert conn.state is ServerState.READY
    return conn


def refusal(actions: list[Action]) -> wire.Error:
    (action,) = actions
    assert isinstance(action, Send)
    assert isinstance(action.message, wire.Error)
    return action.message


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
    error = refusal(ready().receive(wire.encode(frame), 1.0))
    assert (error.code, error.ref) == (ErrorCode.BAD_TOKEN, 2)


def test_a_publish_without_a_token_is_malformed() -> None:
    frame = '{"type":"publish","topic":"' + TOPIC + '","payload":"AA","ref":3}'
    assert refusal(ready().receive(frame, 1.0)).code == ErrorCode.MALFORMED


def test_a_batch_with_one_foreign_item_is_refused_whole() -> None:
    items = [
        wire.PublishItem(topic=TOPIC, token=TOKEN, payload="AA"),
        wire.PublishItem(topic=TOPIC, token=FORGED, payload="AA"),
    ]
    actions = ready().receive(wire.encode(wire.PublishBatch(items=items, ref=4)), 1.0)
    assert refusal(actions).code == ErrorCode.BAD_TOKEN
    assert not any(isinstance(a, PublishBatchRequest) for a in actions)


def test_a_retract_with_the_tokens_becomes_a_request() -> None:
    frame = wire.Retract(topics=[TOPIC], tokens=[TOKEN], ref=5)
    assert ready().receive(wire.encode(frame), 1.0) == [RetractRequest(5, (TOPIC,))]


@pytest.mark.parametrize("tokens", [[FORGED], [], [TOKEN, TOKEN]])
def test_a_retract_without_matching_tokens_is_refused(tokens: list[str]) -> None:
    frame = wire.Retract(topics=[TOPIC], tokens=tokens, ref=6)
    error = refusal(ready().receive(wire.encode(frame), 1.0))
    assert (error.code, error.ref) == (ErrorCode.BAD_TOKEN, 6)
