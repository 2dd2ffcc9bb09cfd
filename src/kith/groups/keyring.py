"""One member's keys for one group: its own sender chain and the others' (pure).

:class:`GroupKeyring` applies the group's rules to :mod:`kith.groups.sender_keys`:
a sender key is taken only from a current member and only over that member's own
pairwise session; a message opens only on a current member's chain; after a
change that removes anyone, :meth:`GroupKeyring.after_change` drops the removed
members' chains and starts a new own chain, which the caller hands to every
remaining member (and the current one to each added member).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from kith.groups.errors import NotAMember
from kith.groups.membership import Applied, GroupState
from kith.groups.sender_keys import GroupMessage, OwnChain, PeerChain, SenderKey

__all__ = ["GroupKeyring"]


@dataclass(frozen=True)
class GroupKeyring:
    """Our chain in a group and every other member's chains we hold, by
    ``(sender_id, chain_id)`` (a member's older chains stay for messages in flight)."""

    own: OwnChain
    peers: Mapping[tuple[str, bytes], PeerChain] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def start(cls, group_id: bytes, self_id: str) -> GroupKeyring:
        return cls(OwnChain.new(group_id, self_id))

    def accept(self, state: GroupState, key: SenderKey, from_id: str) -> GroupKeyring:
        """Take ``key``, received over ``from_id``'s pairwise session.

        Raises:
            NotAMember: the key is for another group, not ``from_id``'s own, or
                ``from_id`` is not a member.
        """
        if key.group_id != state.group_id or key.group_id != self.own.group_id:
            raise NotAMember("a sender key for another group")
        if key.sender_id != from_id:
            raise NotAMember("a member hands over only their own sender key")
        if not state.is_member(from_id) or from_id == self.own.sender_id:
            raise NotAMember("a sender key from someone who is not a member")
        if (key.sender_id, key.chain_id) in self.peers:
            return self  # a chain is handed over again on every session: keep ours, further on
        peers = dict(self.peers)
        peers[(key.sender_id, key.chain_id)] = PeerChain.from_sender_key(key)
        return replace(self, peers=MappingProxyType(peers))

    def seal(self, plaintext: bytes) -> tuple[GroupKeyring, GroupMessage]:
        own, message = self.own.seal(plaintext)
        return replace(self, own=own), message

    def open(self, state: GroupState, message: GroupMessage) -> tuple[GroupKeyring, bytes]:
        """Open a member's message (errors of :meth:`PeerChain.open`, and
        :class:`NotAMember` for a sender who is not a current member)."""
        if not state.is_member(message.sender_id):
            raise NotAMember("a group message from someone who is not a member")
        chain = self.peers.get((message.sender_id, message.chain_id))
        if chain is None:
            raise NotAMember("a group message on a sender chain we do not hold")
        chain, plaintext = chain.open(message)
        peers = dict(self.peers)
        peers[(chain.sender_id, chain.chain_id)] = chain
        return replace(self, peers=MappingProxyType(peers)), plaintext

    def after_change(self, applied: Applied) -> tuple[GroupKeyring, bool]:
        """Follow a membership change; return the keyring and whether our chain
        rotated (then hand ``own.sender_key()`` to every other member)."""
        if not applied.removed:
            return self, False
        peers = {k: v for k, v in self.peers.items() if k[0] not in applied.removed}
        own = OwnChain.new(self.own.group_id, self.own.sender_id)
        return GroupKeyring(own, MappingProxyType(peers)), True
