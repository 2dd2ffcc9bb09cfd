"""The group file endpoints of the local API (docs/groups.md, "Files").

| endpoint | does |
|---|---|
| ``POST /api/groups/{gid}/files`` ``{"path", "caption"?}`` | send a file: 201, message + file |
| ``POST /api/groups/{gid}/files/upload?name=N&caption=C`` | the body is the file: 201 |
| ``GET /api/groups/{gid}/files`` | ``{"files": {MSGID: file}}``, messages with a file |

``GET /api/groups/{gid}/messages`` gives each message that carries a file its ``file`` too.

A message's ``file`` is :func:`kith.runtime.groups.files.group_file_json`; its
``id`` is a transfer the file endpoints (``/api/files/{fid}``, ``…/content``,
``…/cancel``) act on. As for 1:1 files, only the node's API token may name a
path; the page uploads.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kith.api.bodies import json_object
from kith.api.errors import BadRequest
from kith.api.file_routes import token_path
from kith.files import CHUNK_SIZE
from kith.groups.errors import InvalidChange
from kith.runtime.groups.files import GroupFiles
from kith.store.groups import GroupMessageRecord

__all__ = ["add_group_file_routes", "files_of"]

_GROUP_FILES: web.AppKey[GroupFiles] = web.AppKey("group_files", GroupFiles)


def _gid(request: web.Request) -> bytes:
    try:
        return bytes.fromhex(request.match_info["gid"])
    except ValueError:
        raise InvalidChange("no such group", code="unknown_group") from None


async def send_file(request: web.Request) -> web.Response:
    """Send a file at a path on this machine to a group."""
    body = await json_object(request)
    caption = body.get("caption", "")
    if not isinstance(caption, str):
        raise BadRequest("'caption' must be a string")
    path = token_path(request, body, "path")
    message, file = await request.app[_GROUP_FILES].send(_gid(request), path, caption)
    return web.json_response({"message": message.to_json(), "file": file}, status=201)


async def upload_file(request: web.Request) -> web.Response:
    """Send a file whose bytes are the request body (streamed into the vault)."""
    name = request.query.get("name", "")
    caption = request.query.get("caption", "")
    if not name:
        raise BadRequest("the query must name the file: ?name=…")
    body = request.content.iter_chunked(CHUNK_SIZE)
    message, file = await request.app[_GROUP_FILES].upload(_gid(request), name, caption, body)
    return web.json_response({"message": message.to_json(), "file": file}, status=201)


async def list_files(request: web.Request) -> web.Response:
    """The file of each of the group's latest messages that carries one."""
    files = await request.app[_GROUP_FILES].of_group(_gid(request))
    return web.json_response({"files": files})


async def files_of(
    request: web.Request, group_id: bytes, messages: list[GroupMessageRecord]
) -> dict[str, dict[str, Any]]:
    """The ``file`` of each of these messages that carries one (none without group files)."""
    files = request.app.get(_GROUP_FILES)
    return {} if files is None else await files.views(group_id, messages)


def add_group_file_routes(app: web.Application, files: GroupFiles | None) -> None:
    """Register the group file endpoints on ``app`` (none without them)."""
    if files is None:
        return
    app[_GROUP_FILES] = files
    app.router.add_post("/api/groups/{gid}/files", send_file)
    app.router.add_post("/api/groups/{gid}/files/upload", upload_file)
    app.router.add_get("/api/groups/{gid}/files", list_files)
