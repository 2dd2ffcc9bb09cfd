"""The group endpoints of the local API (``docs/groups.md``).

``{gid}`` is a group's ID (32 hex digits) or its name (409 ``ambiguous_group``
when two groups share it).

| endpoint | does |
|---|---|
| ``GET /api/groups`` | ``{"groups": [...]}`` |
| ``POST /api/groups`` ``{"name", "members"?}`` | create: 201, the group |
| ``GET /api/groups/{gid}`` | the group: members (roles; name, verified, presence for
  contacts) and ``changes`` (the membership log, each with ``applied_at``: when this node
  applied it, for placing the system lines) |
| ``POST /api/groups/{gid}/members`` ``{"member"}`` | add a contact (admins) |
| ``DELETE /api/groups/{gid}/members/{member}`` | remove a member (admins) |
| ``POST /api/groups/{gid}/promote`` ``{"member"}`` | make a member admin (admins) |
| ``POST /api/groups/{gid}/rename`` ``{"name"}`` | rename (admins) |
| ``POST /api/groups/{gid}/leave`` | leave the group |
| ``GET /api/groups/{gid}/messages`` ``?limit=N&before=MSGID`` | ``{"messages": [...]}``:
  the latest ``limit`` (default and most 200) before ``before`` if given, oldest first;
  one that carries a file has its ``file`` (docs/groups.md, "Files") |
| ``POST /api/groups/{gid}/messages`` ``{"text"}`` | send: 201 ``{"message", "sealed"}`` |
| ``PATCH /api/groups/{gid}/messages/{mid}`` ``{"text"}`` | edit our message: the message |
| ``DELETE /api/groups/{gid}/messages/{mid}`` | delete our message: 204 |
| ``POST /api/groups/{gid}/messages/{mid}/reactions`` ``{"emoji"}`` | react: the message |
| ``DELETE /api/groups/{gid}/messages/{mid}/reactions/{emoji}`` | unreact: the message |
| ``POST /api/groups/{gid}/read`` ``{"ids"}`` | we read these: ``{"read": [...]}`` (new) |
| ``POST /api/groups/{gid}/typing`` ``{"typing"?}`` | we (stopped) typing: 204 |
| ``POST /api/groups/{gid}/sealed`` ``{"from", "sealed"}`` | open a sealed message as if
  ``from`` sent it (hex; a check that a removed member cannot read what follows) |
| ``GET /api/group-rejections`` | the latest refused group frames (sender, code) |
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from kith.api.bodies import json_object, non_empty_string
from kith.api.errors import BadRequest
from kith.api.group_file_routes import files_of
from kith.errors import KithError
from kith.groups.membership import GroupState, Op
from kith.runtime.groups.service import GroupService
from kith.store.groups import GroupRecord

__all__ = ["add_group_routes", "group_json"]

MAX_PAGE: Final = 200
"""Most group messages one request returns."""

_GROUPS: web.AppKey[GroupService] = web.AppKey("groups", GroupService)


def group_json(state: GroupState, *, active: bool = True) -> dict[str, Any]:
    """The JSON object of a group."""
    return GroupRecord(state, active, 0.0).to_json()


def _groups(request: web.Request) -> GroupService:
    return request.app[_GROUPS]


async def _gid(request: web.Request) -> bytes:
    found = await _groups(request).resolve(request.match_info["gid"])
    if not found:
        raise KithError("no such group", code="unknown_group")
    if len(found) > 1:
        raise KithError(
            "two or more groups have this name: name the group by its ID", code="ambiguous_group"
        )
    return found[0]


async def list_groups(request: web.Request) -> web.Response:
    records = await _groups(request).groups()
    return web.json_response({"groups": [r.to_json() for r in records]})


async def create(request: web.Request) -> web.Response:
    body = await json_object(request, optional=True)
    members = body.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise BadRequest("'members' must be a list of contact IDs")
    state = await _groups(request).create(non_empty_string(body, "name"), members)
    return web.json_response(group_json(state), status=201)


async def show(request: web.Request) -> web.Response:
    return web.json_response(await _groups(request).details(await _gid(request)))


async def _change(
    request: web.Request, op: Op, *, subject: str | None = None, name: str = ""
) -> web.Response:
    gid = await _gid(request)
    state = await _groups(request).change(gid, op, subject=subject, name=name)
    return web.json_response(group_json(state, active=op != "leave"))


async def add_member(request: web.Request) -> web.Response:
    return await _change(
        request,
        "add",
        subject=non_empty_string(await json_object(request, optional=True), "member"),
    )


async def remove_member(request: web.Request) -> web.Response:
    return await _change(request, "remove", subject=request.match_info["member"])


async def promote(request: web.Request) -> web.Response:
    return await _change(
        request,
        "promote",
        subject=non_empty_string(await json_object(request, optional=True), "member"),
    )


async def rename(request: web.Request) -> web.Response:
    return await _change(
        request, "rename", name=non_empty_string(await json_object(request, optional=True), "name")
    )


async def leave(request: web.Request) -> web.Response:
    return await _change(request, "leave")


async def messages(request: web.Request) -> web.Response:
    text = request.query.get("limit", str(MAX_PAGE))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"'limit' must be a whole number from 1 to {MAX_PAGE}")
    before = request.query.get("before") or None
    gid = await _gid(request)
    records = await _groups(request).messages(gid, int(text), before)
    files = await files_of(request, gid, records)
    shown = [r.to_json() for r in records]
    for message in shown:
        if message["id"] in files:
            message["file"] = files[message["id"]]  # docs/groups.md, "Files"
    return web.json_response({"messages": shown})


async def send(request: web.Request) -> web.Response:
    text = non_empty_string(await json_object(request, optional=True), "text")
    message, sealed = await _groups(request).send(await _gid(request), text)
    return web.json_response({"message": message.to_json(), "sealed": sealed.hex()}, status=201)


async def edit(request: web.Request) -> web.Response:
    text = non_empty_string(await json_object(request, optional=True), "text")
    gid = await _gid(request)
    message = await _groups(request).edit(gid, request.match_info["mid"], text)
    return web.json_response(message.to_json())


async def delete(request: web.Request) -> web.Response:
    await _groups(request).delete(await _gid(request), request.match_info["mid"])
    return web.Response(status=204)


async def add_reaction(request: web.Request) -> web.Response:
    emoji = non_empty_string(await json_object(request, optional=True), "emoji")
    gid = await _gid(request)
    message = await _groups(request).react(gid, request.match_info["mid"], emoji, add=True)
    return web.json_response(message.to_json())


async def remove_reaction(request: web.Request) -> web.Response:
    gid, info = await _gid(request), request.match_info
    message = await _groups(request).react(gid, info["mid"], info["emoji"], add=False)
    return web.json_response(message.to_json())


async def mark_read(request: web.Request) -> web.Response:
    ids = (await json_object(request, optional=True)).get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("'ids' must be a list of message IDs")
    read = await _groups(request).mark_read(await _gid(request), ids)
    return web.json_response({"read": read})


async def typing(request: web.Request) -> web.Response:
    active = (await json_object(request, optional=True)).get("typing", True)
    if not isinstance(active, bool):
        raise BadRequest("'typing' must be true or false")
    await _groups(request).typing(await _gid(request), active)
    return web.Response(status=204)


async def open_sealed(request: web.Request) -> web.Response:
    body = await json_object(request, optional=True)
    await _gid(request)
    try:
        sealed = bytes.fromhex(non_empty_string(body, "sealed"))
    except ValueError:
        raise BadRequest("'sealed' must be hex") from None
    await _groups(request).accept_sealed(non_empty_string(body, "from"), sealed)
    return web.json_response({"opened": True})


async def rejections(request: web.Request) -> web.Response:
    items = [{"contact": r.contact_id, "code": r.code} for r in _groups(request).rejections()]
    return web.json_response({"rejections": items})


def add_group_routes(app: web.Application, groups: GroupService | None) -> None:
    """Register the group endpoints on ``app`` (none without groups)."""
    if groups is None:
        return
    app[_GROUPS] = groups
    router = app.router
    router.add_get("/api/groups", list_groups)
    router.add_post("/api/groups", create)
    router.add_get("/api/groups/{gid}", show)
    router.add_post("/api/groups/{gid}/members", add_member)
    router.add_delete("/api/groups/{gid}/members/{member}", remove_member)
    router.add_post("/api/groups/{gid}/promote", promote)
    router.add_post("/api/groups/{gid}/rename", rename)
    router.add_post("/api/groups/{gid}/leave", leave)
    router.add_get("/api/groups/{gid}/messages", messages)
    router.add_post("/api/groups/{gid}/messages", send)
    router.add_patch("/api/groups/{gid}/messages/{mid}", edit)
    router.add_delete("/api/groups/{gid}/messages/{mid}", delete)
    router.add_post("/api/groups/{gid}/messages/{mid}/reactions", add_reaction)
    router.add_delete("/api/groups/{gid}/messages/{mid}/reactions/{emoji}", remove_reaction)
    router.add_post("/api/groups/{gid}/read", mark_read)
    router.add_post("/api/groups/{gid}/typing", typing)
    router.add_post("/api/groups/{gid}/sealed", open_sealed)
    router.add_get("/api/group-rejections", rejections)
