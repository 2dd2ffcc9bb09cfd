"""The file endpoints of the local API.

| endpoint | does |
|---|---|
| ``POST /api/contacts/{id}/files`` ``{"path", "caption"?}`` | queue a file: 201, message + file |
| ``GET /api/contacts/{id}/files`` | ``{"files": [...]}``, oldest first |
| ``GET /api/files/{fid}`` | one transfer |
| ``POST /api/files/{fid}/cancel`` | cancel it (the transfer as it is now) |
| ``POST /api/files/{fid}/pause``, ``…/resume`` | hold it (``paused``, reason ``held``), go on |
| ``POST /api/files/{fid}/save`` ``{"dest"}`` | write a received file to a new file |
| ``POST /api/contacts/{id}/files/upload?name=N&caption=C`` | the body is the file: 201 |
| ``GET /api/files/{fid}/content`` | the file's bytes, as an attachment (never rendered) |

``path`` and ``dest`` are absolute paths on the node's machine (the API only
listens on loopback, for the node's own user). Naming paths is for programs
with the node's API token (the CLI) only: a browser session gets 403
``token_required``, so a page can never make the node read or write a path;
the page uploads and downloads through the last two endpoints, streamed chunk
by chunk, never held whole. An upload with ``&voice_ms=D`` is a voice message
of D milliseconds (1 to an hour; anything else is a 400 before a byte is read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from kith.api.access import Credential
from kith.api.bodies import json_object
from kith.api.download_routes import stream_attachment
from kith.api.errors import BadRequest
from kith.api.session_routes import CREDENTIAL
from kith.errors import KithError
from kith.files import CHUNK_SIZE
from kith.files.frames import check_voice_ms
from kith.runtime.files.service import FileService

__all__ = ["add_file_routes", "token_path"]

_FILES: web.AppKey[FileService] = web.AppKey("files", FileService)


def _files(request: web.Request) -> FileService:
    return request.app[_FILES]


def token_path(request: web.Request, body: dict[str, Any], key: str) -> Path:
    if request.get(CREDENTIAL) is not Credential.TOKEN:
        raise KithError(
            "only the node's API token may name a path, not a browser session",
            code="token_required",
        )
    value = body.get(key)
    if not isinstance(value, str) or not value or "\x00" in value:
        raise BadRequest(f"the request body must be a JSON object with a path {key!r}")
    return Path(value)


async def send_file(request: web.Request) -> web.Response:
    """Queue a file for a contact."""
    body = await json_object(request)
    caption = body.get("caption", "")
    if not isinstance(caption, str):
        raise BadRequest("'caption' must be a string")
    message, view = await _files(request).send(
        request.match_info["id"], token_path(request, body, "path"), caption
    )
    return web.json_response({"message": message.to_json(), "file": view.to_json()}, status=201)


async def upload_file(request: web.Request) -> web.Response:
    """Queue a file whose bytes are the request body (streamed into the vault)."""
    name = request.query.get("name", "")
    caption = request.query.get("caption", "")
    if not name:
        raise BadRequest("the query must name the file: ?name=…")
    voice_ms = _voice_ms(request.query.get("voice_ms"))
    body = request.content.iter_chunked(CHUNK_SIZE)
    message, view = await _files(request).upload(
        request.match_info["id"], name, caption, body, voice_ms
    )
    return web.json_response({"message": message.to_json(), "file": view.to_json()}, status=201)


def _voice_ms(value: str | None) -> int | None:
    """The upload's ``voice_ms`` (a voice message's length), checked before any byte is read."""
    if value is None:
        return None
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None
    problem = check_voice_ms(number)
    if problem is not None:
        raise BadRequest(f"'voice_ms': {problem}")
    return number


async def file_content(request: web.Request) -> web.StreamResponse:
    """A file's bytes as a download: never sniffed or shown inline by the browser."""
    view, chunks = await _files(request).content(request.match_info["fid"])
    return await stream_attachment(request, view, chunks)


async def list_files(request: web.Request) -> web.Response:
    """Every transfer with a contact."""
    views = await _files(request).list(request.match_info["id"])
    return web.json_response({"files": [v.to_json() for v in views]})


async def get_file(request: web.Request) -> web.Response:
    """One transfer."""
    view = await _files(request).get(request.match_info["fid"])
    return web.json_response(view.to_json())


async def cancel_file(request: web.Request) -> web.Response:
    """Cancel a transfer."""
    view = await _files(request).cancel(request.match_info["fid"])
    return web.json_response(view.to_json())


async def pause_file(request: web.Request) -> web.Response:
    """Hold a transfer."""
    view = await _files(request).pause(request.match_info["fid"])
    return web.json_response(view.to_json())


async def resume_file(request: web.Request) -> web.Response:
    """Go on with a held transfer."""
    view = await _files(request).resume(request.match_info["fid"])
    return web.json_response(view.to_json())


async def save_file(request: web.Request) -> web.Response:
    """Write a received file out."""
    body = await json_object(request)
    view = await _files(request).save(request.match_info["fid"], token_path(request, body, "dest"))
    return web.json_response(view.to_json())


def add_file_routes(app: web.Application, files: FileService | None) -> None:
    """Register the file endpoints on ``app`` (none without file transfers)."""
    if files is None:
        return
    app[_FILES] = files
    router = app.router
    router.add_post("/api/contacts/{id}/files", send_file)
    router.add_post("/api/contacts/{id}/files/upload", upload_file)
    router.add_get("/api/files/{fid}/content", file_content)
    router.add_get("/api/contacts/{id}/files", list_files)
    router.add_get("/api/files/{fid}", get_file)
    router.add_post("/api/files/{fid}/cancel", cancel_file)
    router.add_post("/api/files/{fid}/pause", pause_file)
    router.add_post("/api/files/{fid}/resume", resume_file)
    router.add_post("/api/files/{fid}/save", save_file)
