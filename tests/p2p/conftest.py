"""Fixtures for the p2p tests: fixed identities."""

from __future__ import annotations

import pytest

from kith_proto.keys import IdentityKeys


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
