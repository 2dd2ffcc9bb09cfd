"""Each contact's pair channel, derived once for the whole node.

Deriving a :class:`~kith_proto.pair.PairChannel` costs an X25519 agreement
and several HKDF expansions (about 0.2 ms); the presence driver (presence
topics, records) and the chat driver (relay inboxes, sealed signals) share
one per contact instead of deriving their own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from kith.contacts import contact_label
from kith.models import Contact
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel, PairError

__all__ = ["PairChannels"]


class PairChannels:
    """Pair channels by contact, made on first use.

    Args:
        keys: Our identity keys.
        log: Where an unusable contact key is reported (once per contact).
        floors: Each contact's presence replay floor, as stored
            (``PairChannel.floor_to_keep``): each channel's replay guard starts
            from it, so an old record is refused after a restart too.
    """

    def __init__(
        self, keys: IdentityKeys, log: logging.Logger, floors: Mapping[str, int] | None = None
    ) -> None:
        self._keys = keys
        self._log = log
        self._floors = dict(floors or {})
        self._made: dict[str, PairChannel] = {}
        self._unusable: set[str] = set()

    def channel(self, contact: Contact) -> PairChannel | None:
        """The contact's channel; None (logged) if their stored key is unusable,
        e.g. a row written before keys were checked: the others keep working."""
        made = self._made.get(contact.kith_id)
        if made is not None or contact.kith_id in self._unusable:
            return made
        try:
            floor = self._floors.pop(contact.kith_id, None)
            made = PairChannel(self._keys, contact.public_key, floor)
        except PairError as exc:
            self._unusable.add(contact.kith_id)
            self._log.warning(
                "contact %s has an unusable key (%s)", contact_label(contact.kith_id), exc.code
            )
            return None
        self._made[contact.kith_id] = made
        return made
