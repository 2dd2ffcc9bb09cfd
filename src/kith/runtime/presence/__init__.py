"""The presence side of the running node: :class:`PresenceDriver` drives the
pure :class:`kith.presence.PresenceManager` with pair channels, signaling,
the store and live events."""

from kith.runtime.presence.driver import PresenceDriver

__all__ = ["PresenceDriver"]
