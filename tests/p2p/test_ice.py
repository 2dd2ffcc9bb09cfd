"""ICE settings of a link (pure): STUN and TURN together, relay-only."""

from __future__ import annotations

from aiortc.rtcconfiguration import RTCIceTransportPolicy

from kith.p2p.ice import ice_configuration, relay_candidates_only
from kith_proto import wire

TURN = [wire.TurnServer(urls=["turn:t.example:3478"], username="9:x", credential="pw")]
STUN = ["stun:s.example:3478"]

SDP = "\r\n".join(
    [
        "v=0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=candidate:1 1 UDP 2130706431 192.168.1.20 50000 typ host",
        "a=candidate:2 1 UDP 1694498815 198.51.100.4 50000 typ srflx raddr 0.0.0.0 rport 0",
        "a=candidate:3 1 UDP 16777215 203.0.113.9 61000 typ relay raddr 0.0.0.0 rport 0",
        "a=end-of-candidates",
        "",
    ]
)


def test_stun_and_turn_are_used_together_by_default() -> None:
    config = ice_configuration(STUN, TURN, relay_only=False)
    assert config.iceTransportPolicy is RTCIceTransportPolicy.ALL
    assert config.iceServers is not None
    assert [s.urls for s in config.iceServers] == [STUN[0], ["turn:t.example:3478"]]
    assert (config.iceServers[1].username, config.iceServers[1].credential) == ("9:x", "pw")


def test_relay_only_asks_no_stun_and_gathers_only_relays() -> None:
    config = ice_configuration(STUN, TURN, relay_only=True)
    assert config.iceTransportPolicy is RTCIceTransportPolicy.RELAY
    assert config.iceServers is not None
    assert [s.urls for s in config.iceServers] == [["turn:t.example:3478"]]


def test_relay_candidates_only_keeps_relays_and_everything_else() -> None:
    kept = relay_candidates_only(SDP)
    assert "typ host" not in kept
    assert "typ srflx" not in kept
    assert "203.0.113.9 61000 typ relay" in kept
    assert "a=end-of-candidates" in kept
    assert kept.startswith("v=0\r\n")


def test_a_candidate_naming_relay_elsewhere_is_not_a_relay() -> None:
    line = "a=candidate:9 1 UDP 1 10.0.0.1 5000 typ host generation relay"
    assert relay_candidates_only(line) == ""
