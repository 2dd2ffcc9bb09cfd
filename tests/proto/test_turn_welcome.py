"""TURN credentials travel in ``welcome``: the server core hands over what it
was given, once, and the client core keeps them (pure, no I/O)."""

from __future__ import annotations

from kith_proto import IdentityKeys, wire
from kith_proto.auth import sign_auth
from kith_proto.client_core import ClientConnection
from kith_proto.server_core import Send, ServerConfig, ServerConnection

URL = "ws://127.0.0.1:9000"
NONCE = b"n" * 32
TAG_KEY = b"k" * 32

TURN = (wire.TurnServer(urls=["turn:relay.example:3478"], username="1:x", credential="c2VjcmV0"),)


def auth_frame(keys: IdentityKeys) -> str:
    return wire.encode(
        wire.Auth(
            key_type="ed25519",
            key=wire.encode_payload(keys.public_key),
            challenge=wire.encode_payload(NONCE),
            server=URL,
            signature=wire.encode_payload(sign_auth(keys, NONCE, URL)),
        )
    )


def _welcome(turn: tuple[wire.TurnServer, ...]) -> wire.Welcome:
    config = ServerConfig(public_url=URL)
    core = ServerConnection(config, nonce=NONCE, tag_key=TAG_KEY, now=0.0, turn=turn)
    core.start()
    actions = core.receive(auth_frame(IdentityKeys.generate()), 0.0)
    welcomes = [a.message for a in actions if isinstance(a, Send)]
    assert isinstance(welcomes[-1], wire.Welcome)
    return welcomes[-1]


def test_welcome_carries_the_turn_servers_it_was_given() -> None:
    assert _welcome(TURN).turn == list(TURN)


def test_welcome_without_turn_has_an_empty_list() -> None:
    assert _welcome(()).turn == []


def test_a_welcome_without_the_turn_field_decodes_as_no_relay() -> None:
    frame = (
        '{"type":"welcome","heartbeat_interval":10,"limits":{"max_frame_bytes":1,'
        '"max_payload_bytes":1,"max_topics":1,"rate":1,"burst":1}}'
    )
    message = wire.decode_server_message(frame)
    assert isinstance(message, wire.Welcome)
    assert message.turn == []


def test_the_client_core_keeps_the_turn_servers_of_its_welcome() -> None:
    client = ClientConnection(IdentityKeys.generate(), URL)
    assert not client.turn
    client.receive(wire.encode(wire.Challenge(nonce=wire.encode_payload(NONCE), expires_in=10)), 0)
    limits = wire.Limits(1000, 1000, 10, 1.0, 1)
    client.receive(wire.encode(wire.Welcome(1.0, limits, turn=list(TURN))), 0)
    assert client.turn == TURN
