"""The local API's HTTP endpoints (JSON in, JSON out).

Each handler reads its input, calls one :class:`NodeService` operation and
returns the value's ``to_json()``. Errors are turned into JSON by the
server's middleware (:mod:`kith.api.server`).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from kith import __version__
from kith.api.bodies import json_object
from kith.api.errors import BadRequest
from kith.contact_list import MAX_LIST_BYTES, entries_from_json
from kith.runtime.service import NodeService

__all__ = ["add_routes"]

_SERVICE: web.AppKey[NodeService] = web.AppKey("service", NodeService)

IMPORT_MAX_BODY: Final = 4 * MAX_LIST_BYTES
"""The body of ``POST /api/contacts/import``: a list at the file limit, with
JSON keys and escapes added (every other endpoint takes 64 KiB)."""


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        need = "a string" if required else "a string or null"
        raise BadRequest(f"{key!r} must be {need}")
    return value


def _service(request: web.Request) -> NodeService:
    return request.app[_SERVICE]


async def node_info(request: web.Request) -> web.Response:
    """``GET /api/node``: this node answers (used by the CLI)."""
    import os

    status = _service(request).status()
    return web.json_response(
        {"pid": os.getpid(), "version": __version__, "connection": status.connection}
    )


async def get_status(request: web.Request) -> web.Response:
    """``GET /api/status``."""
    return web.json_response(_service(request).status().to_json())


async def put_status(request: web.Request) -> web.Response:
    """``PUT /api/status`` with ``{"status": ..., "text": ...}``."""
    body = await json_object(request)
    status = _text(body, "status")
    assert status is not None
    view = await _service(request).set_status(status, _text(body, "text", required=False))
    return web.json_response(view.to_json())


async def get_identity(request: web.Request) -> web.Response:
    """``GET /api/identity``."""
    return web.json_response((await _service(request).identity()).to_json())


async def put_name(request: web.Request) -> web.Response:
    """``PUT /api/identity/name`` with ``{"name": ...}``."""
    name = _text(await json_object(request), "name")
    assert name is not None
    return web.json_response((await _service(request).set_name(name)).to_json())


async def list_contacts(request: web.Request) -> web.Response:
    """``GET /api/contacts``."""
    contacts = await _service(request).contacts()
    return web.json_response([c.to_json() for c in contacts])


async def add_contact(request: web.Request) -> web.Response:
    """``POST /api/contacts`` with ``{"id": ..., "name": ...}``."""
    body = await json_object(request)
    kith_id = _text(body, "id")
    assert kith_id is not None
    contact = await _service(request).add_contact(kith_id, _text(body, "name", required=False))
    return web.json_response(contact.to_json(), status=201)


async def import_contacts(request: web.Request) -> web.Response:
    """``POST /api/contacts/import`` with ``{"contacts": [{"id", "name", "where"}, ...]}``."""
    body = await json_object(request.clone(client_max_size=IMPORT_MAX_BODY))
    if "contacts" not in body:
        raise BadRequest("'contacts' must be a list")
    entries = entries_from_json(body["contacts"], keep_where=True)
    result = await _service(request).import_contacts(entries)
    return web.json_response(result.to_json())


async def show_contact(request: web.Request) -> web.Response:
    """``GET /api/contacts/{id}``: with the safety number."""
    details = await _service(request).contact(request.match_info["id"])
    return web.json_response(details.to_json())


async def remove_contact(request: web.Request) -> web.Response:
    """``DELETE /api/contacts/{id}``."""
    await _service(request).remove_contact(request.match_info["id"])
    return web.Response(status=204)


async def change_contact(request: web.Request) -> web.Response:
    """``PATCH /api/contacts/{id}`` with ``name`` (null clears) and/or ``verified``."""
    body = await json_object(request)
    service, kith_id = _service(request), request.match_info["id"]
    if not {"name", "verified"} & body.keys():
        raise BadRequest("give 'name' and/or 'verified'")
    verified = body.get("verified")
    if "verified" in body and not isinstance(verified, bool):
        raise BadRequest("'verified' must be true or false")
    contact = None
    if "name" in body:
        contact = await service.rename_contact(kith_id, _text(body, "name", required=False))
    if isinstance(verified, bool):
        contact = await service.verify_contact(kith_id, verified)
    assert contact is not None
    return web.json_response(contact.to_json())


async def list_requests(request: web.Request) -> web.Response:
    """``GET /api/requests``: the contact requests waiting, with safety numbers."""
    return web.json_response(await _service(request).requests())


async def accept_request(request: web.Request) -> web.Response:
    """``POST /api/requests/{id}/accept``: the sender becomes a contact."""
    contact = await _service(request).accept_request(request.match_info["id"])
    return web.json_response(contact.to_json())


async def decline_request(request: web.Request) -> web.Response:
    """``POST /api/requests/{id}/decline``."""
    await _service(request).decline_request(request.match_info["id"])
    return web.Response(status=204)


async def block_id(request: web.Request) -> web.Response:
    """``POST /api/blocked`` with ``{"id": ...}``."""
    kith_id = _text(await json_object(request), "id")
    assert kith_id is not None
    await _service(request).block(kith_id)
    return web.Response(status=204)


async def unblock_id(request: web.Request) -> web.Response:
    """``DELETE /api/blocked/{id}``: 204; 404 ``not_blocked`` if it was not blocked."""
    await _service(request).unblock(request.match_info["id"])
    return web.Response(status=204)


async def list_settings(request: web.Request) -> web.Response:
    """``GET /api/settings``."""
    return web.json_response([s.to_json() for s in await _service(request).settings()])


async def get_setting(request: web.Request) -> web.Response:
    """``GET /api/settings/{key}``."""
    state = await _service(request).get_setting(request.match_info["key"])
    return web.json_response(state.to_json())


async def put_setting(request: web.Request) -> web.Response:
    """``PUT /api/settings/{key}`` with ``{"value": "<text as typed>"}``."""
    value = _text(await json_object(request), "value")
    assert value is not None
    state = await _service(request).set_setting(request.match_info["key"], value)
    return web.json_response(state.to_json())


async def reset_setting(request: web.Request) -> web.Response:
    """``DELETE /api/settings/{key}``: back to the default."""
    state = await _service(request).reset_setting(request.match_info["key"])
    return web.json_response(state.to_json())


def add_routes(app: web.Application, service: NodeService) -> None:
    """Register the endpoints on ``app``."""
    app[_SERVICE] = service
    app.router.add_get("/api/node", node_info)
    app.router.add_get("/api/status", get_status)
    app.router.add_put("/api/status", put_status)
    app.router.add_get("/api/identity", get_identity)
    app.router.add_put("/api/identity/name", put_name)
    app.router.add_get("/api/contacts", list_contacts)
    app.router.add_post("/api/contacts", add_contact)
    app.router.add_post("/api/contacts/import", import_contacts)
    app.router.add_get("/api/contacts/{id}", show_contact)
    app.router.add_delete("/api/contacts/{id}", remove_contact)
    app.router.add_patch("/api/contacts/{id}", change_contact)
    app.router.add_get("/api/requests", list_requests)
    app.router.add_post("/api/requests/{id}/accept", accept_request)
    app.router.add_post("/api/requests/{id}/decline", decline_request)
    app.router.add_post("/api/blocked", block_id)
    app.router.add_delete("/api/blocked/{id}", unblock_id)
    app.router.add_get("/api/settings", list_settings)
    app.router.add_get("/api/settings/{key}", get_setting)
    app.router.add_put("/api/settings/{key}", put_setting)
    app.router.add_delete("/api/settings/{key}", reset_setting)
