"""Fixtures for the pure session-layer tests: identities and established pairs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kith.sessions import Handshake, HandshakeComplete, SendFrame, Session
from kith_proto.keys import IdentityKeys

Establish = Callable[[IdentityKeys, IdentityKeys], tuple[Session, Session]]


def identity(byte: int) -> IdentityKeys:
    """A fixed identity, so runs are repeatable."""
    return IdentityKeys(bytes([byte]) * 32)


@pytest.fixture
def alice() -> IdentityKeys:
    return identity(1)


@pytest.fixture
def bob() -> IdentityKeys:
    return identity(2)


@pytest.fixture
def mallory() -> IdentityKeys:
    return identity(3)


def handshake(initiator: IdentityKeys, responder: IdentityKeys) -> tuple[Session, Session]:
    """Run a clean three-frame handshake; returns (initiator's, responder's) sessions."""
    ours = Handshake(initiator, responder.public_key)
    theirs = Handshake(responder, initiator.public_key)
    (response,) = theirs.receive(ours.start())
    assert isinstance(response, SendFrame)
    finish, done = ours.receive(response.data)
    assert isinstance(finish, SendFrame)
    assert isinstance(done, HandshakeComplete)
    (done_responder,) = theirs.receive(finish.data)
    assert isinstance(done_responder, HandshakeComplete)
    return done.session, done_responder.session


@pytest.fixture
def establish() -> Establish:
    return handshake


@pytest.fixture
def pair(alice: IdentityKeys, bob: IdentityKeys) -> tuple[Session, Session]:
    """Alice (initiator) and Bob (responder), established."""
    return handshake(alice, bob)
