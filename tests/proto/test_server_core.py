"""The sans-I/O server core: no loop, no sockets; time is a number."""

from __future__ import annotations

import os

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.auth import sign_auth
from kith_proto.server_core import (
    Action,
    Close,
    IntroRequest,
    Login,
    PublishRequest,
    RelayRequest,
    Send,
    ServerConfig,
    ServerConnection,
    ServerState,
    SubscribeRequest,
    identity_tag,
    server_full,
)
from kith_proto.wire import CloseCode, ErrorCode

URL = "ws://127.0.0.1:9000"
TOKEN = wire.encode_topic(b"k" * 32)
TOPIC = wire.encode_topic(wire.token_topic(b"k" * 32))
NONCE = b"n" * 32
TAG_KEY = b"k" * 32


def make(now: float = 0.0, **limits: float) -> ServerConnection:
    config = ServerConfig(public_url=URL, **limits)  # type: ignore[arg-type]
    return ServerConnection(config, nonce=NONCE, tag_key=TAG_KEY, now=now)


def auth_frame(
    keys: IdentityKeys,
    *,
    nonce: bytes = NONCE,
    url: str = URL,
    signed_url: str | None = None,
    key_type: str = "ed25519",
    key: str | None = None,
) -> str:
    signature = sign_auth(keys, nonce, signed_url or url)
    return wire.encode(
        wire.Auth(
            key_type=key_type,
            key=key if key is not None else wire.encode_payload(keys.public_key),
            challenge=wire.encode_payload(nonce),
            server=url,
            signature=wire.encode_payload(signature),
        )
    )


def sent(actions: list[Action]) -> list[wire.ServerMessage]:
    return [action.message for action in actions if isinstance(action, Send)]


def error_code(actions: list[Action]) -> str:
    errors = [m for m in sent(actions) if isinstance(m, wire.Error)]
    assert errors, actions
    return errors[0].code


def closes(actions: list[Action]) -> list[Close]:
    return [action for action in actions if isinstance(action, Close)]


def ready(now: float = 0.0, **limits: float) -> ServerConnection:
    conn = make(now, **limits)
    conn.receive(auth_frame(IdentityKeys.generate()), now)
    assert conn.state is ServerState.READY
    return conn


def test_start_sends_a_challenge_with_expiry() -> None:
    (message,) = sent(make().start())
    assert message == wire.Challenge(nonce=wire.encode_payload(NONCE), expires_in=10.0)


def test_valid_auth_logs_in_with_a_keyed_tag_and_welcomes() -> None:
    keys = IdentityKeys.generate()
    conn = make()
    actions = conn.receive(auth_frame(keys), 1.0)
    assert actions[0] == Login(identity_tag(TAG_KEY, keys.public_key))
    assert isinstance(sent(actions)[0], wire.Welcome)
    assert conn.state is ServerState.READY
    assert conn.deadline is None


def test_identity_tag_hides_the_key() -> None:
    keys = IdentityKeys.generate()
    tag = identity_tag(TAG_KEY, keys.public_key)
    assert keys.public_key not in tag
    assert tag != identity_tag(b"j" * 32, keys.public_key)


@pytest.mark.parametrize(
    ("frame_kwargs", "now", "code"),
    [
        ({"key_type": "rsa"}, 1.0, ErrorCode.UNKNOWN_KEY_FORMAT),
        ({"key": wire.encode_payload(b"x" * 31)}, 1.0, ErrorCode.UNKNOWN_KEY_FORMAT),
        ({"key": "A"}, 1.0, ErrorCode.UNKNOWN_KEY_FORMAT),
        ({"nonce": b"o" * 32}, 1.0, ErrorCode.REPLAYED_CHALLENGE),
        ({}, 10.5, ErrorCode.CHALLENGE_EXPIRED),
        ({"url": "ws://other:1"}, 1.0, ErrorCode.WRONG_SERVER),
        ({"signed_url": "ws://other:1"}, 1.0, ErrorCode.BAD_SIGNATURE),
    ],
)
def test_each_auth_failure_has_its_code_and_closes(
    frame_kwargs: dict[str, object], now: float, code: ErrorCode
) -> None:
    conn = make()
    actions = conn.receive(auth_frame(IdentityKeys.generate(), **frame_kwargs), now)  # type: ignore[arg-type]
    assert error_code(actions) == code
    assert closes(actions) == [Close(CloseCode.AUTH_FAILED, code)]
    assert conn.state is ServerState.CLOSED
    assert not any(isinstance(a, Login) for a in actions)


def test_signature_by_another_key_is_a_bad_signature() -> None:
    keys, other = IdentityKeys.generate(), IdentityKeys.generate()
    frame = auth_frame(keys, key=wire.encode_payload(other.public_key))
    assert error_code(make().receive(frame, 1.0)) == ErrorCode.BAD_SIGNATURE


def test_auth_timeout_closes_at_the_deadline() -> None:
    conn = make(now=100.0)
    assert conn.deadline == 115.0
    assert conn.tick(114.9) == []
    actions = conn.tick(115.0)
    assert error_code(actions) == ErrorCode.AUTH_TIMEOUT
    assert closes(actions)[0].code == CloseCode.AUTH_TIMEOUT


def test_routing_before_auth_is_refused() -> None:
    conn = make()
    frame = wire.encode(wire.Subscribe(topics=[TOPIC], ref=7))
    actions = conn.receive(frame, 0.0)
    assert sent(actions) == [
        wire.Error(code=ErrorCode.NOT_AUTHENTICATED, message="authenticate first", ref=7)
    ]
    assert conn.state is ServerState.AWAIT_AUTH


def test_second_auth_is_refused() -> None:
    conn = ready()
    assert error_code(conn.receive(auth_frame(IdentityKeys.generate()), 1.0)) == (
        ErrorCode.ALREADY_AUTHENTICATED
    )


@pytest.mark.parametrize("data", ["{", "null", '{"type":"x"}', b'{"type":"subscribe"}', "\x00"])
def test_malformed_frames_get_an_error_not_an_exception(data: str | bytes) -> None:
    conn = ready()
    assert error_code(conn.receive(data, 1.0)) == ErrorCode.MALFORMED
    assert conn.state is ServerState.READY


def test_frame_with_a_lone_surrogate_is_malformed_not_a_crash() -> None:
    conn = ready(max_frame_bytes=1000)
    frame = '{"type":"subscribe","topics":["\ud800' + "0" * 300 + '"]}'
    assert error_code(conn.receive(frame, 1.0)) == ErrorCode.MALFORMED
    assert conn.state is ServerState.READY


def test_frame_over_the_limit_is_refused() -> None:
    conn = ready(max_frame_bytes=1000)
    assert error_code(conn.receive("x" * 1001, 1.0)) == ErrorCode.FRAME_TOO_LARGE
    assert error_code(conn.receive("é" * 600, 1.0)) == ErrorCode.FRAME_TOO_LARGE


def test_payload_over_the_limit_is_refused_with_its_ref() -> None:
    conn = ready(max_frame_bytes=4000, max_payload_bytes=100)
    frame = wire.encode(
        wire.Publish(topic=TOPIC, token=TOKEN, payload=wire.encode_payload(b"x" * 101), ref=3)
    )
    (message,) = sent(conn.receive(frame, 1.0))
    assert message == wire.Error(
        code=ErrorCode.PAYLOAD_TOO_LARGE, message="payloads are limited to 100 bytes", ref=3
    )


def test_rate_limit_refuses_messages_beyond_the_burst() -> None:
    conn = ready(rate=1.0, burst=3)
    frame = wire.encode(wire.Unsubscribe(topics=[TOPIC]))
    results = [conn.receive(frame, 1.0) for _ in range(4)]
    assert error_code(results[-1]) == ErrorCode.RATE_LIMITED
    assert conn.receive(frame, 2.0) != []  # refilled


def test_intros_have_their_own_rate_limit() -> None:
    conn = ready(intro_burst=2, intro_rate=0.0)
    frame = wire.encode(wire.Intro(topic=TOPIC, payload="AA", ref=1))
    assert isinstance(conn.receive(frame, 1.0)[0], IntroRequest)
    assert isinstance(conn.receive(frame, 1.0)[0], IntroRequest)
    assert error_code(conn.receive(frame, 1.0)) == ErrorCode.RATE_LIMITED


def test_repeated_faults_close_for_abuse() -> None:
    conn = ready(max_strikes=3, strike_refill=0.0)
    actions: list[Action] = []
    for _ in range(4):
        actions = conn.receive("garbage", 1.0)
    assert closes(actions) == [Close(CloseCode.ABUSE, ErrorCode.ABUSE)]
    assert conn.state is ServerState.CLOSED
    assert conn.receive("garbage", 1.0) == []


def test_too_many_topics_in_one_request_is_refused() -> None:
    conn = ready(max_topics=2)
    topics = [wire.encode_topic(os.urandom(32)) for _ in range(3)]
    frame = wire.encode(wire.Subscribe(topics=topics, ref=1))
    assert error_code(conn.receive(frame, 1.0)) == ErrorCode.TOO_MANY_TOPICS


def test_routing_frames_become_requests() -> None:
    conn = ready()
    (request,) = conn.receive(wire.encode(wire.Subscribe(topics=[TOPIC], ref=4)), 1.0)
    # The bucket is full (40 tokens): all of it may pay for the reply.
    assert request == SubscribeRequest(4, (TOPIC,), max_reply_bytes=40 * 256 * 1024)
    retained = [wire.Retained(topic=TOPIC, payload="AA")]
    assert request.reply(retained) == Send(
        wire.Subscribed(topics=[TOPIC], retained=retained, ref=4)
    )
    (publish,) = conn.receive(
        wire.encode(wire.Publish(topic=TOPIC, token=TOKEN, payload="AA")), 1.0
    )
    assert publish == PublishRequest(None, TOPIC, "AA")
    assert publish.ack() == Send(wire.Ack(ref=None))


def test_relay_to_nobody_is_peer_offline() -> None:
    request = RelayRequest(9, TOPIC, "AA")
    assert request.reply(1) == Send(wire.Ack(ref=9))
    reply = request.reply(0).message
    assert isinstance(reply, wire.Error)
    assert (reply.code, reply.ref) == (ErrorCode.PEER_OFFLINE, 9)


def test_intro_reply_is_identical_whether_delivered_or_not() -> None:
    request = IntroRequest(2, TOPIC, "AA")
    assert request.reply(0) == request.reply(3) == Send(wire.Ack(ref=2))


def test_replaced_and_shutdown_say_goodbye_with_their_close_codes() -> None:
    replaced = ready().replaced()
    assert sent(replaced) == [
        wire.Bye(code="replaced", message="this identity connected elsewhere", reconnect=False)
    ]
    assert closes(replaced)[0].code == CloseCode.REPLACED
    shutdown = ready().shutdown()
    bye = sent(shutdown)[0]
    assert isinstance(bye, wire.Bye)
    assert bye.reconnect
    assert closes(shutdown)[0].code == CloseCode.SERVICE_RESTART
    assert closes(server_full())[0].code == CloseCode.TRY_AGAIN_LATER
