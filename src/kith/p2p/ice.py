"""ICE settings of a peer link: STUN, TURN relays, relay-only, and the path taken.

Pure helpers plus the one place that reads aiortc's selected candidate pair:

- :func:`ice_configuration` builds aiortc's ``RTCConfiguration`` from STUN
  URLs and the TURN relays of the signaling server (:class:`TurnSource`).
  With ``relay_only`` the policy is ``relay``: only relayed candidates are
  gathered, so our offers and answers carry no address of ours.
- :func:`relay_candidates_only` drops every candidate but relayed ones from
  a peer's description, so that relay-only also *accepts* only relays.
- :func:`selected_path` says whether the open connection runs through a
  TURN relay (``"relay"``) or directly (``"direct"``).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from typing import Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

__all__ = [
    "NO_TURN",
    "IcePath",
    "TurnCredentials",
    "TurnSource",
    "ice_configuration",
    "relay_candidates_only",
    "selected_path",
]


class IcePath(enum.StrEnum):
    """Which way an open connection's packets travel."""

    DIRECT = "direct"
    """From our own (host or NAT-mapped) address: the contact sees it."""
    RELAY = "relay"
    """Our side sends through a TURN relay: the contact never sees our address."""


class TurnCredentials(Protocol):
    """One TURN relay with credentials (``kith_proto.wire.TurnServer`` is one)."""

    @property
    def urls(self) -> Sequence[str]:
        """``turn:HOST:PORT[?transport=udp|tcp]`` URLs."""
        ...

    @property
    def username(self) -> str:
        """The TURN username."""
        ...

    @property
    def credential(self) -> str:
        """The TURN password."""
        ...


class TurnSource(Protocol):
    """Where current TURN credentials come from (the signaling client)."""

    def turn_servers(self) -> Sequence[TurnCredentials]:
        """The relays to use now (empty: none offered)."""
        ...


class _NoTurn:
    def turn_servers(self) -> Sequence[TurnCredentials]:
        return ()


NO_TURN: TurnSource = _NoTurn()
"""A source that never offers a relay (loopback tests, no server)."""


def ice_configuration(
    stun: Sequence[str], turn: Sequence[TurnCredentials], *, relay_only: bool
) -> RTCConfiguration:
    """aiortc's configuration for one connection attempt.

    Without ``relay_only`` STUN and TURN are used together and ICE prefers a
    direct pair; with it, no STUN is asked and only relayed candidates exist.
    """
    servers = [] if relay_only else [RTCIceServer(urls=url) for url in stun]
    servers += [
        RTCIceServer(urls=list(t.urls), username=t.username, credential=t.credential) for t in turn
    ]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def relay_candidates_only(sdp: str) -> str:
    """``sdp`` without any ``a=candidate`` line that is not ``typ relay``."""
    lines = sdp.split("\r\n")
    kept = [line for line in lines if not line.startswith("a=candidate:") or _is_relay(line)]
    return "\r\n".join(kept)


def _is_relay(candidate_line: str) -> bool:
    fields = candidate_line.split()
    return any(a == "typ" and b == "relay" for a, b in itertools.pairwise(fields))


def selected_path(pc: RTCPeerConnection) -> IcePath | None:
    """Our side of ``pc``'s nominated candidate pair (``None``: none yet).

    aiortc exposes no candidate-pair statistics, so this reads its ICE
    connection's nominated pair; it is the one place that does.
    """
    sctp = pc.sctp
    if sctp is None:
        return None
    connection = sctp.transport.transport._connection
    pairs = list(connection._nominated.values())
    if not pairs:
        return None
    relayed = all(p.local_candidate.type == "relay" for p in pairs)
    return IcePath.RELAY if relayed else IcePath.DIRECT
