"""kith-signal: Kith's signaling server (auth, private presence routing, relay)."""

__version__ = "0.1.0"
