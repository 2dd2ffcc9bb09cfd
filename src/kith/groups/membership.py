"""A group's membership: its state and the signed changes that move it (pure).

A group is a chain of :class:`Change` records. The first (``create``) names the
group and its first members and makes its author the first admin; each later
change carries the next ``version``, the digest of the change before it
(``parent``) and an Ed25519 signature by its author's identity key. A node
accepts a change only when it is signed by someone allowed to make it (an admin
for ``add``, ``remove``, ``promote`` and ``rename``; any member for ``leave``,
which removes the author), builds on the state the node holds, and is new; so
every member that sees the same changes reaches the same :class:`GroupState`,
and a forged (non-admin) or replayed (old version) change is rejected.

Two admins who change the group at the same time both sign version ``n + 1``
on top of ``n``. The fork is settled at the head by :func:`wins`: a change that
removes the other change's author wins (a removal cannot be undone by the
removed admin's concurrent change); otherwise the change with the smaller
digest wins. Every node that sees both picks the same one; the loser's author
sees its change dropped and may sign it again on top of the winner. Forks
deeper than the head are not settled (:class:`~kith.groups.errors.StaleChange`):
see docs/groups.md.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

import msgspec

from kith.groups.errors import (
    ForgedChange,
    GroupFull,
    InvalidChange,
    ReplayedChange,
    StaleChange,
    UnknownParent,
)
from kith_proto.ids import InvalidIdError, parse_id
from kith_proto.keys import IdentityKeys, verify_signature

__all__ = [
    "GROUP_ID_SIZE",
    "MAX_MEMBERS",
    "MAX_NAME_LENGTH",
    "Applied",
    "Change",
    "GroupState",
    "Op",
    "Role",
    "apply_change",
    "create_group",
    "decode_change",
    "encode_change",
    "next_change",
    "replay",
    "sign_change",
    "wins",
]

GROUP_ID_SIZE: Final = 16
MAX_MEMBERS: Final = 32
"""Most members a group may have, its creator included (docs/groups.md, "Limits")."""
MAX_NAME_LENGTH: Final = 100
_DIGEST_SIZE: Final = 32
_NO_PARENT: Final = bytes(_DIGEST_SIZE)
_SIGNING_CONTEXT: Final = b"kith group change v1\x00"

Role: TypeAlias = Literal["admin", "member"]
Op: TypeAlias = Literal["create", "add", "remove", "promote", "rename", "leave"]
_ADMIN_OPS: Final = frozenset({"add", "remove", "promote", "rename"})


class Change(msgspec.Struct, frozen=True, array_like=True):
    """One signed step of a group's membership.

    ``subjects`` are the members the change is about (``create``: the first
    members besides the author; ``add``, ``remove``, ``promote``: exactly one);
    ``name`` is set by ``create`` and ``rename`` only.
    """

    group_id: bytes
    version: int
    parent: bytes
    author: str
    op: Op
    subjects: tuple[str, ...] = ()
    name: str = ""
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        """What the author signs: the change without its signature."""
        return _SIGNING_CONTEXT + msgspec.msgpack.encode(
            msgspec.structs.replace(self, signature=b"")
        )

    @property
    def digest(self) -> bytes:
        """The change's identity (over its signed encoding): the next change's ``parent``."""
        return hashlib.sha256(encode_change(self)).digest()


def encode_change(change: Change) -> bytes:
    """The change's wire and storage encoding."""
    return msgspec.msgpack.encode(change)


def decode_change(data: bytes) -> Change:
    """Decode a change (not yet checked against any state)."""
    try:
        change = msgspec.msgpack.decode(data, type=Change)
    except msgspec.DecodeError as exc:
        raise InvalidChange(f"a group change that cannot be decoded ({exc})") from None
    if len(change.group_id) != GROUP_ID_SIZE or len(change.parent) != _DIGEST_SIZE:
        raise InvalidChange("a group change with a malformed group ID or parent")
    return change


@dataclass(frozen=True)
class GroupState:
    """A group as of its latest accepted change.

    ``members`` maps each member's Kith ID to its role; ``log`` is every change
    from ``create`` on (a new member verifies the group from it); ``prior`` is
    the state before the head change, kept to settle a concurrent change.
    """

    group_id: bytes
    name: str
    members: Mapping[str, Role]
    log: tuple[Change, ...]
    prior: GroupState | None = field(default=None, repr=False, compare=False)

    @property
    def version(self) -> int:
        return len(self.log)

    @property
    def head(self) -> bytes:
        """Digest of the latest change."""
        return self.log[-1].digest

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(m for m, role in self.members.items() if role == "admin")

    def is_member(self, kith_id: str) -> bool:
        return kith_id in self.members

    def is_admin(self, kith_id: str) -> bool:
        return self.members.get(kith_id) == "admin"


@dataclass(frozen=True)
class Applied:
    """The outcome of :func:`apply_change`.

    ``removed``: who is no longer a member (the survivors rotate their sender
    chains); ``added``: the new members (they need the log and our sender chain);
    ``dropped``: our head change that lost to a concurrent one (its author may
    sign it again on top of the new head).
    """

    state: GroupState
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    dropped: tuple[Change, ...] = ()


def sign_change(change: Change, keys: IdentityKeys) -> Change:
    """Return ``change`` signed by ``keys`` (whose ID must be its author)."""
    if keys.kith_id != change.author:
        raise ValueError("a change is signed by its author")
    return msgspec.structs.replace(change, signature=keys.sign(change.signed_bytes()))


def create_group(
    keys: IdentityKeys,
    name: str,
    members: Iterable[str] = (),
    *,
    group_id: bytes | None = None,
) -> tuple[GroupState, Change]:
    """Create a group with ``keys`` as its admin and ``members`` as members."""
    gid = os.urandom(GROUP_ID_SIZE) if group_id is None else group_id
    change = sign_change(
        Change(gid, 1, _NO_PARENT, keys.kith_id, "create", tuple(members), name), keys
    )
    return _step(None, change), change


def next_change(
    state: GroupState,
    keys: IdentityKeys,
    op: Op,
    *,
    subject: str | None = None,
    name: str = "",
) -> tuple[Applied, Change]:
    """Sign the next change of ``state`` by ``keys`` and apply it locally."""
    change = sign_change(
        Change(
            state.group_id,
            state.version + 1,
            state.head,
            keys.kith_id,
            op,
            () if subject is None else (subject,),
            name,
        ),
        keys,
    )
    return apply_change(state, change), change


def wins(challenger: Change, incumbent: Change) -> bool:
    """Whether ``challenger`` beats ``incumbent``, two changes of the same version
    on the same parent: a removal of the other's author wins, else the smaller digest."""
    c_removes_i = challenger.op == "remove" and incumbent.author in challenger.subjects
    i_removes_c = incumbent.op == "remove" and challenger.author in incumbent.subjects
    if c_removes_i != i_removes_c:
        return c_removes_i
    return challenger.digest < incumbent.digest


def apply_change(state: GroupState, change: Change) -> Applied:
    """Check ``change`` against ``state`` and return the state it leads to.

    Raises:
        ForgedChange: bad signature, or an author who may not make this change.
        ReplayedChange: the change was applied already.
        StaleChange: an older version, or a concurrent change that loses.
        UnknownParent: the change builds on changes this node has not seen.
        InvalidChange, GroupFull: the change makes no sense for the state.
    """
    if change.group_id != state.group_id:
        raise InvalidChange("a change for another group")
    if change.version > state.version + 1 or change.version < 1:
        raise UnknownParent(
            f"change {change.version} of a group this node holds at version {state.version}:"
            " changes in between are missing"
        )
    if change.version == state.version + 1:
        if change.parent != state.head:
            raise UnknownParent("a change built on a state this node has not seen")
        new = _step(state, change)
        return _outcome(state, new)
    incumbent = state.log[change.version - 1]
    if change.digest == incumbent.digest:
        raise ReplayedChange(f"group change {change.version} was applied already")
    if change.version != state.version or state.prior is None:
        raise StaleChange(
            f"change {change.version} is older than the group's version {state.version}"
        )
    if change.parent != incumbent.parent:
        raise UnknownParent("a change built on a state this node has not seen")
    candidate = _step(state.prior, change)  # forged or invalid raises before the rule
    if not wins(change, incumbent):
        raise StaleChange(f"change {change.version} lost to a concurrent change")
    outcome = _outcome(state.prior, candidate)
    return replace(outcome, dropped=(incumbent,))


def replay(log: Iterable[Change]) -> GroupState:
    """Verify a whole log from ``create`` on and return its state (what a new
    member or a restarted node does)."""
    state: GroupState | None = None
    for change in log:
        state = _step(None, change) if state is None else apply_change(state, change).state
    if state is None:
        raise InvalidChange("an empty group log")
    return state


def _outcome(before: GroupState, after: GroupState) -> Applied:
    old, new = set(before.members), set(after.members)
    return Applied(after, frozenset(new - old), frozenset(old - new))


def _check_id(kith_id: str) -> bytes:
    try:
        return parse_id(kith_id)
    except InvalidIdError:
        raise InvalidChange("a group change names a malformed Kith ID") from None


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise InvalidChange(
            f"a group name is 1 to {MAX_NAME_LENGTH} printable characters, not all spaces"
        )


def _step(state: GroupState | None, change: Change) -> GroupState:
    """The state ``change`` leads to from ``state`` (None: a ``create``)."""
    author_key = _check_id(change.author)
    if not verify_signature(author_key, change.signature, change.signed_bytes()):
        raise ForgedChange("a group change whose signature does not verify")
    if len(change.group_id) != GROUP_ID_SIZE:
        raise InvalidChange("a group ID is 16 bytes")
    for subject in change.subjects:
        _check_id(subject)
    if state is None:
        return _create(change)
    if change.op == "create":
        raise InvalidChange("a group is created once")
    if not state.is_member(change.author):
        raise ForgedChange("a group change by someone who is not a member")
    if change.op in _ADMIN_OPS and not state.is_admin(change.author):
        raise ForgedChange(f"only an admin may {change.op}; this change is signed by a member")
    if change.op == "rename":
        _check_name(change.name)
        if change.subjects:
            raise InvalidChange("a rename names no member")
        return _next(state, change, dict(state.members), change.name)
    if change.name:
        raise InvalidChange(f"a {change.op} carries no name")
    members: dict[str, Role] = dict(state.members)
    if change.op == "leave":
        if change.subjects:
            raise InvalidChange("a leave names no member: it removes its author")
        del members[change.author]
        if members and not any(role == "admin" for role in members.values()):
            members[min(members)] = "admin"  # the last admin left: the smallest ID takes over
        return _next(state, change, members, state.name)
    if len(change.subjects) != 1:
        raise InvalidChange(f"a {change.op} names exactly one member")
    subject = change.subjects[0]
    if change.op == "add":
        if subject in members:
            raise InvalidChange("that contact is a member already")
        if len(members) >= MAX_MEMBERS:
            raise GroupFull(f"a group has at most {MAX_MEMBERS} members")
        members[subject] = "member"
    elif change.op == "remove":
        if subject not in members:
            raise InvalidChange("that contact is not a member")
        if subject == change.author:
            raise InvalidChange("an admin leaves rather than removing themselves")
        del members[subject]
    else:  # promote
        if members.get(subject) != "member":
            raise InvalidChange("only a member who is not an admin can be promoted")
        members[subject] = "admin"
    return _next(state, change, members, state.name)


def _create(change: Change) -> GroupState:
    if change.op != "create" or change.version != 1 or change.parent != _NO_PARENT:
        raise InvalidChange("a group starts with its create change")
    _check_name(change.name)
    if change.author in change.subjects or len(set(change.subjects)) != len(change.subjects):
        raise InvalidChange("a group's first members are listed once, the creator apart")
    if len(change.subjects) + 1 > MAX_MEMBERS:
        raise GroupFull(f"a group has at most {MAX_MEMBERS} members")
    members: dict[str, Role] = {change.author: "admin"}
    members.update(dict.fromkeys(change.subjects, "member"))
    return GroupState(change.group_id, change.name, MappingProxyType(members), (change,))


def _next(state: GroupState, change: Change, members: dict[str, Role], name: str) -> GroupState:
    prior = replace(state, prior=None)  # one level back is all the concurrent rule needs
    return GroupState(state.group_id, name, MappingProxyType(members), (*state.log, change), prior)
