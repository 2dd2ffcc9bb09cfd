"""Wire schemas and codecs of kith.v1 (pure)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith_proto import wire

TOPIC = wire.encode_topic(bytes(range(32)))
TOKEN = wire.encode_topic(bytes(32))


def test_topic_is_43_chars_of_base64url() -> None:
    assert len(TOPIC) == wire.TOPIC_LENGTH
    assert wire.decode_topic(TOPIC) == bytes(range(32))


def test_topic_with_wrong_size_is_rejected() -> None:
    with pytest.raises(wire.WireFormatError):
        wire.encode_topic(b"short")
    with pytest.raises(wire.WireFormatError):
        wire.decode_topic(wire.encode_payload(os.urandom(31)))


def test_non_canonical_topic_spelling_is_rejected_by_schema() -> None:
    text = TOPIC[:-1] + "B"  # same bytes, non-zero padding bits
    with pytest.raises(wire.WireFormatError):
        wire.decode_client_message(f'{{"type":"subscribe","topics":["{text}"]}}')
    with pytest.raises(wire.WireFormatError):
        wire.decode_topic(text)


@pytest.mark.parametrize(
    "message",
    [
        wire.Subscribe(topics=[TOPIC], ref=1),
        wire.Unsubscribe(topics=[TOPIC]),
        wire.Publish(topic=TOPIC, token=TOKEN, payload="AAEC", ref=2),
        wire.Retract(topics=[TOPIC], tokens=[TOKEN], ref=3),
        wire.Relay(topic=TOPIC, payload="", ref=4),
        wire.Intro(topic=TOPIC, payload="eHk", ref=5),
        wire.Auth(key_type="ed25519", key="a", challenge="b", server="ws://x", signature="c"),
    ],
)
def test_client_messages_round_trip(message: wire.ClientMessage) -> None:
    assert wire.decode_client_message(wire.encode(message)) == message


def test_server_messages_round_trip() -> None:
    limits = wire.Limits(max_frame_bytes=1, max_payload_bytes=1, max_topics=1, rate=1.0, burst=1)
    messages: list[wire.ServerMessage] = [
        wire.Challenge(nonce="abc", expires_in=10.0),
        wire.Welcome(heartbeat_interval=10.0, limits=limits),
        wire.Subscribed(topics=[TOPIC], retained=[wire.Retained(topic=TOPIC, payload="AA")]),
        wire.Ack(ref=1),
        wire.Event(topic=TOPIC, payload="AA"),
        wire.Gone(topic=TOPIC),
        wire.Relayed(topic=TOPIC, payload="AA"),
        wire.IntroReceived(topic=TOPIC, payload="AA"),
        wire.Error(code="malformed", message="x", ref=None),
        wire.Bye(code="replaced", message="x", reconnect=False),
    ]
    for message in messages:
        assert wire.decode_server_message(wire.encode(message)) == message


def test_frames_are_tagged_by_type() -> None:
    assert wire.encode(wire.Gone(topic=TOPIC)) == f'{{"type":"gone","topic":"{TOPIC}"}}'


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"type":"nope"}',
        '{"topics":[]}',
        '{"type":"subscribe"}',
        '{"type":"subscribe","topics":"x"}',
        '{"type":"publish","topic":"x","payload":"AA"}',
        f'{{"type":"publish","topic":"{TOPIC}","payload":"not base64!"}}',
        f'{{"type":"gone_extra","topic":"{TOPIC}"}}',
        f'{{"type":"relay","topic":"{TOPIC}","payload":"AA","extra":1}}',
        f'{{"type":"relay","topic":"{TOPIC}","payload":"AA","ref":-1}}',
    ],
)
def test_invalid_client_frames_raise_wire_format_error(text: str) -> None:
    with pytest.raises(wire.WireFormatError):
        wire.decode_client_message(text)


DECODERS = [wire.decode_client_message, wire.decode_server_message]
Decoder = Callable[[str | bytes], object]


CHALLENGE = b'{"type":"challenge","expires_in":30,"nonce":"%s"}'
AUTH = b'{"type":"auth","key_type":"%s"}'


@pytest.mark.parametrize(
    ("decode", "data"),
    [
        (wire.decode_server_message, CHALLENGE % b"\xff"),
        (wire.decode_server_message, CHALLENGE % b"\xc3("),
        (wire.decode_server_message, CHALLENGE % b"\xed\xa0\x80"),
        (wire.decode_server_message, CHALLENGE.decode() % "\ud800"),
        (wire.decode_client_message, AUTH % b"\xff"),
        (wire.decode_client_message, AUTH.decode() % "\ud800"),
    ],
    ids=[
        "stray-byte",
        "bad-continuation",
        "encoded-surrogate",
        "lone-surrogate-str",
        "client-stray-byte",
        "client-lone-surrogate-str",
    ],
)
def test_invalid_utf8_raises_wire_format_error(decode: Decoder, data: str | bytes) -> None:
    with pytest.raises(wire.WireFormatError, match="UTF-8"):
        decode(data)


@pytest.mark.parametrize("decode", DECODERS)
def test_deeply_nested_frame_raises_wire_format_error(decode: Decoder) -> None:
    with pytest.raises(wire.WireFormatError):
        decode('{"zz":' + "[" * 100_000)


json_starts = st.sampled_from(
    [b"", b'{"type":"challenge","nonce":"', b'{"type":"auth","key":"', b'{"', b"[", b'"']
)


@pytest.mark.parametrize("decode", DECODERS)
@given(start=json_starts, rest=st.binary(max_size=200))
def test_random_bytes_raise_only_wire_format_error(
    decode: Decoder, start: bytes, rest: bytes
) -> None:
    with contextlib.suppress(wire.WireFormatError):
        decode(start + rest)


def test_payload_codec_round_trips_and_rejects_impossible_lengths() -> None:
    data = os.urandom(100)
    assert wire.decode_payload(wire.encode_payload(data)) == data
    assert wire.payload_size(wire.encode_payload(data)) == 100
    with pytest.raises(wire.WireFormatError):
        wire.decode_payload("AAAAA")
