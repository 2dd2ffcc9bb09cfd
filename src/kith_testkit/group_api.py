"""Groups through a running node's local API, for tests over a :class:`ChatWorld`.

Each call names the node by its user (``"a"``); each wait is bounded polling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.polling import wait_for

WAIT = 20.0
Message = dict[str, Any]


def create(world: ChatWorld, who: str, name: str, members: Iterable[str]) -> dict[str, Any]:
    """``who`` creates group ``name`` with the named users: the created group."""
    body = {"name": name, "members": [world.ids[m] for m in members]}
    status, made = call(world.nodes[who], "POST", "/api/groups", body)
    assert status == 201, made
    group: dict[str, Any] = made
    return group


def post(world: ChatWorld, who: str, gid: str, text: str) -> dict[str, Any]:
    """``who`` posts ``text`` to the group: the response (``message``, ``sealed``)."""
    status, sent = call(world.nodes[who], "POST", f"/api/groups/{gid}/messages", {"text": text})
    assert status == 201, sent
    result: dict[str, Any] = sent
    return result


def details(world: ChatWorld, who: str, gid: str) -> dict[str, Any]:
    """The group as ``who``'s node shows it now (it must know the group)."""
    status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}")
    assert status == 200, body
    group: dict[str, Any] = body
    return group


def members(world: ChatWorld, who: str, gid: str) -> set[str]:
    """The IDs of the group's members as ``who``'s node has them."""
    return {m["id"] for m in details(world, who, gid)["members"]}


def knows(world: ChatWorld, who: str, gid: str) -> bool:
    """Whether ``who``'s node has the group yet."""
    return call(world.nodes[who], "GET", f"/api/groups/{gid}")[0] == 200


def wait_known(world: ChatWorld, who: str, gid: str, timeout: float = WAIT) -> None:
    """Wait until ``who``'s node has the group."""
    wait_for(lambda: knows(world, who, gid) or None, f"{who} has the group", timeout)


def wait_group(
    world: ChatWorld,
    who: str,
    gid: str,
    check: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = WAIT,
) -> dict[str, Any]:
    """Wait until ``who``'s node has the group and ``check`` accepts it."""

    def probe() -> dict[str, Any] | None:
        status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}")
        return body if status == 200 and check(body) else None

    return wait_for(probe, f"{who}: {what}", timeout)


def messages(world: ChatWorld, who: str, gid: str) -> list[Message] | None:
    """The group's messages on ``who``'s node, or None while it lacks the group."""
    status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}/messages")
    if status != 200:
        return None
    found: list[Message] = body["messages"]
    return found


def wait_messages(
    world: ChatWorld,
    who: str,
    gid: str,
    check: Callable[[list[Message]], bool],
    what: str,
    timeout: float = WAIT,
) -> list[Message]:
    """Wait until ``who``'s node has the group and ``check`` accepts its messages."""

    def probe() -> list[Message] | None:
        found = messages(world, who, gid)
        return found if found is not None and check(found) else None

    return wait_for(probe, f"{who}: {what}", timeout)


def wait_count(
    world: ChatWorld, who: str, gid: str, count: int, timeout: float = WAIT
) -> list[Message]:
    """Wait until ``who``'s node holds at least ``count`` of the group's messages."""
    what = f"holds {count} group messages"
    return wait_messages(world, who, gid, lambda got: len(got) >= count, what, timeout)


def wait_by_body(
    world: ChatWorld,
    who: str,
    gid: str,
    check: Callable[[dict[str, Message]], bool],
    timeout: float = WAIT,
) -> dict[str, Message]:
    """Wait until ``check`` accepts ``who``'s group messages keyed by their text."""

    def probe() -> dict[str, Message] | None:
        found = messages(world, who, gid)
        by_body = {m["body"]: m for m in found} if found is not None else None
        return by_body if by_body is not None and check(by_body) else None

    return wait_for(probe, f"{who}'s group messages", timeout)


def rejections(world: ChatWorld, who: str) -> list[dict[str, str]]:
    """The group frames ``who``'s node refused (``contact`` and ``code`` each)."""
    status, body = call(world.nodes[who], "GET", "/api/group-rejections")
    assert status == 200, body
    found: list[dict[str, str]] = body["rejections"]
    return found


def all_online(world: ChatWorld, names: str) -> None:
    """Wait until every two of the named users see each other online."""
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            world.online(x, y)
