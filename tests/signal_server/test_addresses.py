"""Connections per client address (pure bookkeeping)."""

from __future__ import annotations

import ipaddress

import pytest

from kith_signal.addresses import AddressLimit, client_address

HOME = ipaddress.ip_address("192.0.2.7")
PROXY = ipaddress.ip_address("10.0.0.2")


def test_admits_up_to_the_limit_per_address() -> None:
    limit = AddressLimit(2)
    assert [limit.admit(HOME) for _ in range(3)] == [True, True, False]
    assert limit.admit(ipaddress.ip_address("192.0.2.8"))


def test_a_closed_connection_frees_its_place() -> None:
    limit = AddressLimit(1)
    assert limit.admit(HOME)
    assert not limit.admit(HOME)
    limit.release(HOME)
    assert limit.admit(HOME)


def test_forgets_an_address_with_no_connection_left() -> None:
    limit = AddressLimit(3)
    limit.admit(HOME)
    limit.admit(HOME)
    limit.release(HOME)
    limit.release(HOME)
    assert len(limit) == 0


def test_trusted_proxy_and_zero_limit_are_never_refused() -> None:
    assert all(AddressLimit(1, [PROXY]).admit(PROXY) for _ in range(5))
    off = AddressLimit(0)
    assert all(off.admit(HOME) for _ in range(5))
    assert len(off) == 0


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        AddressLimit(-1)


def test_client_address_reads_socket_peer_names() -> None:
    assert client_address(("192.0.2.7", 5000)) == HOME
    assert client_address(("::ffff:192.0.2.7", 5000, 0, 0)) == HOME
    assert client_address(("fe80::1%eth0", 5000, 0, 2)) == ipaddress.ip_address("fe80::1")
    assert client_address(None) is None
    assert client_address(("not an address", 1)) is None
