"""Mailbox frames in the sans-I/O server core: padded sizes, and only the owner reads."""

from __future__ import annotations

import os

from kith_proto import wire
from kith_proto.mailbox_seal import BUCKETS
from kith_proto.server_core import (
    MailboxAckRequest,
    MailboxDepositRequest,
    MailboxFetchRequest,
    ServerConfig,
    ServerConnection,
)
from kith_proto.wire import ErrorCode
from kith_testkit.server_sessions import NONCE, URL, refusal, signed_in

RAW_TOKEN = b"m" * 32
TOKEN = wire.encode_topic(RAW_TOKEN)
TOPIC = wire.encode_topic(wire.token_topic(RAW_TOKEN))
OTHER_TOKEN = wire.encode_topic(os.urandom(32))


def ready() -> ServerConnection:
    return signed_in(ServerConfig(public_url=URL))


def deposit(size: int) -> str:
    payload = wire.encode_payload(os.urandom(size))
    return wire.encode(wire.MailboxDeposit(topic=TOPIC, payload=payload, ref=1))


def test_a_deposit_of_a_bucket_size_becomes_a_request() -> None:
    (request,) = ready().receive(deposit(BUCKETS[0]), 1.0)
    assert isinstance(request, MailboxDepositRequest)
    assert request.topic == TOPIC
    assert request.ref == 1


def test_a_deposit_of_another_size_is_refused_as_bad_item_size() -> None:
    error = refusal(ready().receive(deposit(BUCKETS[0] - 1), 1.0))
    assert error.code == ErrorCode.BAD_ITEM_SIZE
    assert error.ref == 1


def test_a_deposit_beyond_the_largest_bucket_is_payload_too_large() -> None:
    error = refusal(ready().receive(deposit(BUCKETS[-1] + 3), 1.0))
    assert error.code == ErrorCode.PAYLOAD_TOO_LARGE


def test_a_fetch_with_the_owners_token_becomes_a_request() -> None:
    frame = wire.encode(wire.MailboxFetch(topic=TOPIC, token=TOKEN, ref=2))
    (request,) = ready().receive(frame, 1.0)
    assert isinstance(request, MailboxFetchRequest)
    assert request.max_reply_bytes > BUCKETS[-1]


def test_a_fetch_or_ack_without_the_token_is_bad_token() -> None:
    conn = ready()
    fetch = wire.encode(wire.MailboxFetch(topic=TOPIC, token=OTHER_TOKEN, ref=2))
    ack = wire.encode(wire.MailboxAck(topic=TOPIC, token=OTHER_TOKEN, ids=[1], ref=3))
    assert refusal(conn.receive(fetch, 1.0)).code == ErrorCode.BAD_TOKEN
    assert refusal(conn.receive(ack, 1.0)).code == ErrorCode.BAD_TOKEN


def test_an_ack_with_the_token_becomes_a_request() -> None:
    frame = wire.encode(wire.MailboxAck(topic=TOPIC, token=TOKEN, ids=[4, 5], ref=3))
    (request,) = ready().receive(frame, 1.0)
    assert isinstance(request, MailboxAckRequest)
    assert request.ids == (4, 5)


def test_an_ack_of_too_many_ids_is_malformed() -> None:
    frame = wire.encode(wire.MailboxAck(topic=TOPIC, token=TOKEN, ids=list(range(1025))))
    assert refusal(ready().receive(frame, 1.0)).code == ErrorCode.MALFORMED


def test_mailbox_frames_before_auth_are_not_authenticated() -> None:
    conn = ServerConnection(ServerConfig(public_url=URL), nonce=NONCE, tag_key=NONCE, now=0.0)
    assert refusal(conn.receive(deposit(BUCKETS[0]), 1.0)).code == ErrorCode.NOT_AUTHENTICATED
