"""The message endpoints of the local API (the contract in ``docs/ui.md``).

Each handler validates its input, calls one :class:`ChatService` operation and
answers with the API's message objects. Errors become JSON through the
server's middleware; the codes of messaging errors get their HTTP status here.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from kith.api.bodies import json_object
from kith.api.errors import BadRequest
from kith.api.json_text import json_text
from kith.conversation_store import MAX_PAGE
from kith.runtime.chat.service import ChatService

__all__ = ["add_message_routes"]

_CHAT: web.AppKey[ChatService] = web.AppKey("chat", ChatService)
DEFAULT_PAGE: Final = 50


def _chat(request: web.Request) -> ChatService:
    return request.app[_CHAT]


async def _field(request: web.Request, key: str) -> str:
    value = (await json_object(request)).get(key)
    if not isinstance(value, str):
        raise BadRequest(f"the request body must be a JSON object with a string {key!r}")
    return value


def _limit(request: web.Request) -> int:
    text = request.query.get("limit", str(DEFAULT_PAGE))
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"'limit' must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


async def list_messages(request: web.Request) -> web.Response:
    """``GET /api/contacts/{id}/messages?limit=N&before=MSGID``."""
    before = request.query.get("before") or None
    messages = await _chat(request).history(request.match_info["id"], _limit(request), before)
    return web.json_response({"messages": [m.to_json() for m in messages]})


async def send_message(request: web.Request) -> web.Response:
    """``POST /api/contacts/{id}/messages`` with ``{"text", "reply_to"?}``: 201, the message."""
    body = await json_object(request)
    text, reply_to = body.get("text"), body.get("reply_to")
    if not isinstance(text, str):
        raise BadRequest("the request body must be a JSON object with a string 'text'")
    if reply_to is not None and not isinstance(reply_to, str):
        raise BadRequest("'reply_to' must be a message ID (a string) or null")
    message = await _chat(request).send_text(request.match_info["id"], text, reply_to)
    return web.json_response(message.to_json(), status=201, dumps=json_text)


async def edit_message(request: web.Request) -> web.Response:
    """``PATCH /api/messages/{mid}`` with ``{"text"}``."""
    text = await _field(request, "text")
    message = await _chat(request).edit(request.match_info["mid"], text)
    return web.json_response(message.to_json())


async def delete_message(request: web.Request) -> web.Response:
    """``DELETE /api/messages/{mid}``: 204."""
    await _chat(request).delete(request.match_info["mid"])
    return web.Response(status=204)


async def add_reaction(request: web.Request) -> web.Response:
    """``POST /api/messages/{mid}/reactions`` with ``{"emoji"}``."""
    emoji = await _field(request, "emoji")
    message = await _chat(request).react(request.match_info["mid"], emoji, True)
    return web.json_response(message.to_json())


async def remove_reaction(request: web.Request) -> web.Response:
    """``DELETE /api/messages/{mid}/reactions/{emoji}``."""
    chat = _chat(request)
    message = await chat.react(request.match_info["mid"], request.match_info["emoji"], False)
    return web.json_response(message.to_json())


async def typing(request: web.Request) -> web.Response:
    """``POST /api/contacts/{id}/typing``: 204."""
    _chat(request).typing(request.match_info["id"])
    return web.Response(status=204)


async def mark_read(request: web.Request) -> web.Response:
    """``POST /api/contacts/{id}/read`` with ``{"ids": [...]}``: 204."""
    ids = (await json_object(request)).get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("the request body must be a JSON object with a list of string 'ids'")
    await _chat(request).mark_read(request.match_info["id"], ids)
    return web.Response(status=204)


async def accept_key(request: web.Request) -> web.Response:
    """``POST /api/contacts/{id}/key-accept``: resume sending after a key change; 204."""
    await _chat(request).accept_key(request.match_info["id"])
    return web.Response(status=204)


async def link(request: web.Request) -> web.Response:
    """``GET /api/contacts/{id}/link``: ``{"state", "path"}`` of the peer link."""
    return web.json_response(_chat(request).link(request.match_info["id"]))


def add_message_routes(app: web.Application, chat: ChatService | None) -> None:
    """Register the message endpoints on ``app`` (none without messaging)."""
    if chat is None:
        return
    app[_CHAT] = chat
    router = app.router
    router.add_get("/api/contacts/{id}/messages", list_messages)
    router.add_post("/api/contacts/{id}/messages", send_message)
    router.add_post("/api/contacts/{id}/typing", typing)
    router.add_post("/api/contacts/{id}/read", mark_read)
    router.add_post("/api/contacts/{id}/key-accept", accept_key)
    router.add_get("/api/contacts/{id}/link", link)
    router.add_patch("/api/messages/{mid}", edit_message)
    router.add_delete("/api/messages/{mid}", delete_message)
    router.add_post("/api/messages/{mid}/reactions", add_reaction)
    router.add_delete("/api/messages/{mid}/reactions/{emoji}", remove_reaction)
