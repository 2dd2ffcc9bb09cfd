"""Open connections per client address, for ``--max-connections-per-address``.

Pure bookkeeping: the server asks :meth:`AddressLimit.admit` for each new
connection and calls :meth:`AddressLimit.release` when it closes. Addresses
live here only while they have an open connection and are never logged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["AddressLimit", "client_address"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_address(peer: object) -> Address | None:
    """The IP address of a socket's peer name (``None`` when it has none).

    An IPv4-mapped IPv6 address counts as the IPv4 address it carries.
    """
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return None
    try:
        address = ipaddress.ip_address(peer[0].split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AddressLimit:
    """At most ``limit`` open connections per client address.

    Args:
        limit: Most connections from one address; 0 turns the limit off.
        exempt: Addresses never limited (trusted reverse proxies, through
            which every client arrives from the same address).
    """

    def __init__(self, limit: int, exempt: Iterable[Address] = ()) -> None:
        if limit < 0:
            raise ValueError("the per-address limit must be >= 0 (0: off)")
        self._limit = limit
        self._exempt = frozenset(exempt)
        self._open: dict[Address, int] = {}

    def admit(self, address: Address | None) -> bool:
        """Count a new connection from ``address``; ``False``: refuse it."""
        if address is None or self._limit == 0 or address in self._exempt:
            return True
        count = self._open.get(address, 0)
        if count >= self._limit:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: Address | None) -> None:
        """A connection that :meth:`admit` counted has closed."""
        if address is None or address not in self._open:
            return
        count = self._open[address] - 1
        if count:
            self._open[address] = count
        else:
            del self._open[address]

    def __len__(self) -> int:
        """How many addresses have a counted connection open."""
        return len(self._open)
