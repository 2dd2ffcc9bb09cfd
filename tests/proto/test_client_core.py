"""The sans-I/O client core, driven against the server core (no sockets)."""

from __future__ import annotations

import os

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import (
    Authenticated,
    AuthenticationFailed,
    BatchTooLargeError,
    ClientConnection,
    ClientEvent,
    ClientState,
    ClientStateError,
    Disconnected,
    IntroductionReceived,
    PayloadTooLargeError,
    RelayReceived,
    RequestAcked,
    ServerError,
    ServerGoodbye,
    ServerProtocolViolation,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_proto.server_core import Login, Send, ServerConfig, ServerConnection
from kith_proto.wire import CloseCode

URL = "ws://127.0.0.1:9000"
TOPIC = os.urandom(32)
T = wire.encode_topic(TOPIC)


def handshake(url: str = URL) -> tuple[ClientConnection, ServerConnection, list[ClientEvent]]:
    client = ClientConnection(IdentityKeys.generate(), url)
    server = ServerConnection(
        ServerConfig(public_url=URL), nonce=os.urandom(32), tag_key=os.urandom(32), now=0.0
    )
    events: list[ClientEvent] = []
    pending = [a.message for a in server.start() if isinstance(a, Send)]
    while pending:
        for message in pending:
            events += client.receive(wire.encode(message), 1.0)
        pending = [
            a.message
            for frame in client.data_to_send()
            for a in server.receive(frame, 1.0)
            if isinstance(a, Send)
        ]
    return client, server, events


def feed(client: ClientConnection, message: wire.ServerMessage) -> list[ClientEvent]:
    return client.receive(wire.encode(message), 2.0)


def test_handshake_reaches_ready() -> None:
    client, _server, events = handshake()
    assert client.state is ClientState.READY
    assert isinstance(events[-1], Authenticated)
    assert client.limits == server_limits()


def server_limits() -> wire.Limits:
    return ServerConfig(public_url=URL).limits


def test_signature_for_another_url_fails_authentication() -> None:
    client, _, events = handshake(url="ws://elsewhere:1")
    assert events == [AuthenticationFailed(code="wrong_server", message=events[0].message)]  # type: ignore[union-attr]
    assert client.state is ClientState.CLOSED


def test_auth_frame_answers_the_challenge_and_logs_in() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    server = ServerConnection(
        ServerConfig(public_url=URL), nonce=b"n" * 32, tag_key=b"k" * 32, now=0
    )
    (challenge,) = server.start()
    assert isinstance(challenge, Send)
    assert feed(client, challenge.message) == []
    assert client.state is ClientState.AUTHENTICATING
    (frame,) = client.data_to_send()
    assert isinstance(server.receive(frame, 0.5)[0], Login)


def test_requests_before_ready_are_our_error() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    with pytest.raises(ClientStateError):
        client.subscribe([TOPIC])


def test_requests_are_numbered_and_encoded() -> None:
    client, _server, _ = handshake()
    refs = [
        client.subscribe([TOPIC]),
        client.unsubscribe([TOPIC]),
        client.publish(TOPIC, b"p"),
        client.retract([TOPIC]),
        client.relay(TOPIC, b"r"),
        client.intro(TOPIC, b"i"),
    ]
    assert refs == [1, 2, 3, 4, 5, 6]
    frames = [wire.decode_client_message(f) for f in client.data_to_send()]
    assert [type(f).__name__ for f in frames] == [
        "Subscribe",
        "Unsubscribe",
        "Publish",
        "Retract",
        "Relay",
        "Intro",
    ]
    assert frames[2] == wire.Publish(
        topic=wire.encode_topic(wire.token_topic(TOPIC)),
        token=T,
        payload=wire.encode_payload(b"p"),
        ref=3,
    )
    assert frames[3] == wire.Retract(
        topics=[wire.encode_topic(wire.token_topic(TOPIC))], tokens=[T], ref=4
    )


def test_bad_topic_or_oversized_payload_is_refused_locally() -> None:
    client, _, _ = handshake()
    with pytest.raises(wire.WireFormatError):
        client.publish(b"short", b"x")
    with pytest.raises(PayloadTooLargeError):
        client.publish(TOPIC, b"x" * (server_limits().max_payload_bytes + 1))


def test_oversized_payload_is_not_a_state_error() -> None:
    assert not issubclass(PayloadTooLargeError, ClientStateError)
    assert issubclass(PayloadTooLargeError, ValueError)


def test_publish_batch_is_one_frame_with_every_item() -> None:
    client, _server, _ = handshake()
    tokens = [os.urandom(32) for _ in range(3)]
    ref = client.publish_batch([(t, b"v%d" % i) for i, t in enumerate(tokens)])
    (frame,) = client.data_to_send()
    message = wire.decode_client_message(frame)
    assert isinstance(message, wire.PublishBatch)
    assert message.ref == ref
    assert [i.topic for i in message.items] == [
        wire.encode_topic(wire.token_topic(t)) for t in tokens
    ]
    assert [i.token for i in message.items] == [wire.encode_topic(t) for t in tokens]
    assert [i.payload for i in message.items] == [wire.encode_payload(b"v%d" % i) for i in range(3)]


def test_publish_batch_respects_the_announced_limits() -> None:
    client, _, _ = handshake()
    limit = server_limits().max_batch
    with pytest.raises(BatchTooLargeError):
        client.publish_batch([])
    with pytest.raises(BatchTooLargeError):
        client.publish_batch([(TOPIC, b"x")] * (limit + 1))
    with pytest.raises(PayloadTooLargeError):
        client.publish_batch([(TOPIC, b"x" * (server_limits().max_payload_bytes + 1))])
    assert client.data_to_send() == []


def test_expired_challenge_is_worth_another_attempt() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    server = ServerConnection(
        ServerConfig(public_url=URL), nonce=os.urandom(32), tag_key=os.urandom(32), now=0.0
    )
    for action in server.start():
        assert isinstance(action, Send)
        client.receive(wire.encode(action.message), 0.0)
    (auth,) = client.data_to_send()
    replies = [a.message for a in server.receive(auth, 60.0) if isinstance(a, Send)]
    (failed,) = client.receive(wire.encode(replies[0]), 60.0)
    assert failed == AuthenticationFailed(
        code="challenge_expired", message="the challenge expired", retryable=True
    )
    (closed,) = client.connection_closed(CloseCode.AUTH_FAILED, "challenge_expired")
    assert closed == Disconnected(code=4001, reason="challenge_expired", reconnect=True)


def test_other_authentication_failures_are_final() -> None:
    client, _, _ = handshake(url="ws://elsewhere:1")
    (closed,) = client.connection_closed(CloseCode.AUTH_FAILED, "wrong_server")
    assert closed == Disconnected(code=4001, reason="wrong_server", reconnect=False)


def test_every_routed_server_frame_is_a_typed_event() -> None:
    client, _, _ = handshake()
    p = wire.encode_payload(b"payload")
    assert feed(
        client, wire.Subscribed(topics=[T], retained=[wire.Retained(topic=T, payload=p)], ref=1)
    ) == [SubscriptionConfirmed(ref=1, topics=(TOPIC,), retained=((TOPIC, b"payload"),))]
    assert feed(client, wire.Ack(ref=2)) == [RequestAcked(ref=2)]
    assert feed(client, wire.Event(topic=T, payload=p)) == [TopicValue(TOPIC, b"payload")]
    assert feed(client, wire.Gone(topic=T)) == [TopicGone(TOPIC)]
    assert feed(client, wire.Relayed(topic=T, payload=p)) == [RelayReceived(TOPIC, b"payload")]
    assert feed(client, wire.IntroReceived(topic=T, payload=p)) == [
        IntroductionReceived(TOPIC, b"payload")
    ]
    assert feed(client, wire.Error(code="peer_offline", message="m", ref=5)) == [
        ServerError(code="peer_offline", message="m", ref=5)
    ]


def test_malformed_server_frame_is_a_protocol_violation() -> None:
    client, _, _ = handshake()
    (event,) = client.receive("{not json", 2.0)
    assert isinstance(event, ServerProtocolViolation)
    assert client.state is ClientState.CLOSED
    assert client.receive(wire.encode(wire.Ack()), 3.0) == []


def test_binary_frame_is_a_protocol_violation() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    challenge = wire.encode(wire.Challenge(nonce=wire.encode_payload(b"n" * 32), expires_in=30))
    (event,) = client.receive(challenge.encode(), 1.0)
    assert isinstance(event, ServerProtocolViolation)
    assert "binary" in event.detail
    assert client.state is ClientState.CLOSED
    assert client.data_to_send() == []


@pytest.mark.parametrize(
    "data",
    [
        b'{"type":"challenge","nonce":"\xff","expires_in":30}',
        '{"type":"challenge","nonce":"\udcff","expires_in":30}',
    ],
    ids=["binary", "text-with-surrogate"],
)
def test_invalid_utf8_is_a_protocol_violation(data: str | bytes) -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    (event,) = client.receive(data, 1.0)
    assert isinstance(event, ServerProtocolViolation)
    assert client.state is ClientState.CLOSED


def test_invalid_utf8_after_login_is_a_protocol_violation() -> None:
    client, _, _ = handshake()
    (event,) = client.receive(f'{{"type":"event","topic":"{T}","payload":"\udcff"}}', 2.0)
    assert isinstance(event, ServerProtocolViolation)
    assert "UTF-8" in event.detail


def test_frame_out_of_order_is_a_protocol_violation() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    (event,) = feed(client, wire.Gone(topic=T))
    assert isinstance(event, ServerProtocolViolation)


def test_goodbye_decides_whether_to_reconnect() -> None:
    client, _, _ = handshake()
    bye = wire.Bye(code="shutting_down", message="restart", reconnect=True)
    assert feed(client, bye) == [ServerGoodbye("shutting_down", "restart", True)]
    assert client.connection_closed(CloseCode.SERVICE_RESTART, "x") == [
        Disconnected(code=1012, reason="x", reconnect=True)
    ]


@pytest.mark.parametrize(
    ("code", "reconnect"),
    [
        (CloseCode.REPLACED, False),
        (CloseCode.AUTH_FAILED, False),
        (CloseCode.UNSUPPORTED_PROTOCOL, False),
        (1006, True),
        (None, True),
        (CloseCode.SERVICE_RESTART, True),
    ],
)
def test_close_codes_decide_whether_to_reconnect(code: int | None, reconnect: bool) -> None:
    client, _, _ = handshake()
    (event,) = client.connection_closed(code, "")
    assert event == Disconnected(code=code, reason="", reconnect=reconnect)
