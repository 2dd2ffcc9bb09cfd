"""Kith's shared protocol package: IDs, key material, wire schemas, sans-I/O cores."""

from kith_proto.auth import auth_statement, sign_auth, verify_auth
from kith_proto.client_core import (
    Authenticated,
    AuthenticationFailed,
    ClientConnection,
    ClientEvent,
    ClientState,
    ClientStateError,
    Disconnected,
    IntroductionReceived,
    RelayReceived,
    RequestAcked,
    ServerError,
    ServerGoodbye,
    ServerProtocolViolation,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_proto.ids import ID_LENGTH, InvalidIdError, format_id, parse_id
from kith_proto.keys import IdentityKeys, verify_signature, x25519_public_from_ed25519
from kith_proto.wire import SUBPROTOCOL, CloseCode, ErrorCode, WireFormatError

__all__ = [
    "ID_LENGTH",
    "SUBPROTOCOL",
    "Authenticated",
    "AuthenticationFailed",
    "ClientConnection",
    "ClientEvent",
    "ClientState",
    "ClientStateError",
    "CloseCode",
    "Disconnected",
    "ErrorCode",
    "IdentityKeys",
    "IntroductionReceived",
    "InvalidIdError",
    "RelayReceived",
    "RequestAcked",
    "ServerError",
    "ServerGoodbye",
    "ServerProtocolViolation",
    "SubscriptionConfirmed",
    "TopicGone",
    "TopicValue",
    "WireFormatError",
    "auth_statement",
    "format_id",
    "parse_id",
    "sign_auth",
    "verify_auth",
    "verify_signature",
    "x25519_public_from_ed25519",
]
