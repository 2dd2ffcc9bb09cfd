"""The call endpoints of the local API (``docs/calls.md``).

| endpoint | does |
|---|---|
| ``POST /api/contacts/{id}/calls`` ``{"video"?}`` | ring: 201 (409 ``not_reachable``) |
| ``GET /api/contacts/{id}/calls`` | ``{"calls": [...]}``: the call log, oldest first |
| ``GET /api/calls`` | ``{"calls": [...]}``: the calls going on |
| ``GET /api/calls/ice`` | the page's ``RTCConfiguration`` (STUN, TURN, policy) |
| ``POST /api/calls/{cid}/accept`` / ``decline`` / ``hangup`` | answer, refuse, end: the call |
| ``POST /api/calls/{cid}/media`` ``{"flowing"}`` | our page's media came up or was lost |
| ``POST /api/calls/{cid}/signal`` ``{"kind", "data"}`` | our page's offer, answer or candidate |

Live changes reach the page as ``call`` and ``call_signal`` events on ``/api/events``.
"""

from __future__ import annotations

from aiohttp import web

from kith.api.bodies import json_object
from kith.api.errors import BadRequest
from kith.runtime.calls.service import CallService

__all__ = ["add_call_routes"]

_CALLS: web.AppKey[CallService] = web.AppKey("calls", CallService)


def _calls(request: web.Request) -> CallService:
    return request.app[_CALLS]


async def start_call(request: web.Request) -> web.Response:
    """Ring a contact."""
    video = (await json_object(request, optional=True)).get("video", False)
    if not isinstance(video, bool):
        raise BadRequest("'video' must be true or false")
    view = await _calls(request).start(request.match_info["id"], video)
    return web.json_response(view.to_json(), status=201)


async def call_log(request: web.Request) -> web.Response:
    """The call log with a contact."""
    records = await _calls(request).history(request.match_info["id"])
    return web.json_response({"calls": [r.to_json() for r in records]})


async def live_calls(request: web.Request) -> web.Response:
    """The calls going on."""
    return web.json_response({"calls": [v.to_json() for v in _calls(request).live_calls()]})


async def ice(request: web.Request) -> web.Response:
    """The page's ICE configuration."""
    return web.json_response(_calls(request).ice())


async def accept(request: web.Request) -> web.Response:
    """Answer a ringing call."""
    return web.json_response(_calls(request).accept(request.match_info["cid"]).to_json())


async def decline(request: web.Request) -> web.Response:
    """Refuse a ringing call."""
    return web.json_response(_calls(request).decline(request.match_info["cid"]).to_json())


async def hang_up(request: web.Request) -> web.Response:
    """End or cancel a call."""
    return web.json_response(_calls(request).hang_up(request.match_info["cid"]).to_json())


async def media(request: web.Request) -> web.Response:
    """Our page's media connection changed."""
    flowing = (await json_object(request, optional=True)).get("flowing")
    if not isinstance(flowing, bool):
        raise BadRequest("the request body must be {'flowing': true|false}")
    return web.json_response(_calls(request).media(request.match_info["cid"], flowing).to_json())


async def signal(request: web.Request) -> web.Response:
    """Relay our page's offer, answer or ICE candidate to the peer's page."""
    body = await json_object(request, optional=True)
    kind, data = body.get("kind"), body.get("data")
    if not isinstance(kind, str) or not isinstance(data, str):
        raise BadRequest("the request body must be {'kind': …, 'data': …} (strings)")
    _calls(request).signal(request.match_info["cid"], kind, data)
    return web.json_response({"sent": True})


def add_call_routes(app: web.Application, calls: CallService | None) -> None:
    """Register the call endpoints on ``app`` (none without calls)."""
    if calls is None:
        return
    app[_CALLS] = calls
    router = app.router
    router.add_post("/api/contacts/{id}/calls", start_call)
    router.add_get("/api/contacts/{id}/calls", call_log)
    router.add_get("/api/calls", live_calls)
    router.add_get("/api/calls/ice", ice)
    router.add_post("/api/calls/{cid}/accept", accept)
    router.add_post("/api/calls/{cid}/decline", decline)
    router.add_post("/api/calls/{cid}/hangup", hang_up)
    router.add_post("/api/calls/{cid}/media", media)
    router.add_post("/api/calls/{cid}/signal", signal)
