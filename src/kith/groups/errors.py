"""Errors of groups: a local action refused versus a member's bad change or message."""

from __future__ import annotations

from kith.errors import KithError

__all__ = [
    "ForgedChange",
    "GroupError",
    "GroupFull",
    "InvalidChange",
    "NotAMember",
    "RefusedAction",
    "ReplayedChange",
    "SkippedTooFar",
    "StaleChange",
    "TamperedMessage",
    "UnknownParent",
]


class GroupError(KithError):
    """Base of every error of :mod:`kith.groups`."""

    code = "group_error"


class InvalidChange(GroupError):
    """A change that is malformed or makes no sense for the group's state
    (adding a member twice, removing a non-member, an empty name...)."""

    code = "invalid_group_change"


class ForgedChange(GroupError):
    """A change whose signature does not verify, or signed by someone who may not
    make it (a non-admin changing membership)."""

    code = "forged_group_change"


class ReplayedChange(GroupError):
    """A change this node applied already (same version, same content)."""

    code = "replayed_group_change"


class StaleChange(GroupError):
    """A change for a version this node has moved past, which does not win the
    concurrent-change rule (docs/groups.md)."""

    code = "stale_group_change"


class UnknownParent(GroupError):
    """A change built on a state this node has not seen (it missed changes: sync first)."""

    code = "unknown_group_parent"


class GroupFull(GroupError):
    """The group already has the most members it may have."""

    code = "group_full"


class NotAMember(GroupError):
    """A message from someone who is not a member, or whose sender chain we do not hold."""

    code = "not_a_group_member"


class TamperedMessage(GroupError):
    """A group message whose signature or authentication tag does not verify."""

    code = "tampered_group_message"


class SkippedTooFar(GroupError):
    """A message too far ahead of its sender chain, or one whose key was used or dropped."""

    code = "group_message_key_unavailable"


class RefusedAction(GroupError):
    """An edit, delete or reaction not allowed: of an unknown message, of someone
    else's message (edit, delete), or of a deleted one."""

    code = "refused_group_action"
