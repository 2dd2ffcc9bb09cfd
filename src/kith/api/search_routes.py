"""``GET /api/search?q=TEXT&limit=N``: search across the history (``docs/ui.md``)."""

from __future__ import annotations

from aiohttp import web

from kith.api.errors import BadRequest, error_response
from kith.errors import KithError
from kith.runtime.chat.service import ChatService
from kith.store.message_search import MAX_RESULTS

__all__ = ["add_search_routes"]

_SEARCH_CHAT: web.AppKey[ChatService] = web.AppKey("search_chat", ChatService)


def _limit(request: web.Request) -> int:
    text = request.query.get("limit", "50")
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESULTS:
        raise BadRequest(f"'limit' must be a whole number from 1 to {MAX_RESULTS}")
    return int(text)


async def search(request: web.Request) -> web.Response:
    """Every message holding all the words of ``q``, newest first, with its contact."""
    limit = _limit(request)
    try:
        found = await request.app[_SEARCH_CHAT].search(request.query.get("q", ""), limit)
    except KithError as exc:
        if exc.code != "bad_search":
            raise
        return error_response(400, exc.code, exc.message)
    results = [{"contact": m.contact, "message": m.to_json()} for m in found]
    return web.json_response({"results": results})


def add_search_routes(app: web.Application, chat: ChatService | None) -> None:
    """Register the search endpoint on ``app`` (none without messaging)."""
    if chat is None:
        return
    app[_SEARCH_CHAT] = chat
    app.router.add_get("/api/search", search)
