"""Downloads a browser streams to disk itself (``docs/files.md``).

| endpoint | does |
|---|---|
| ``POST /api/files/{fid}/download`` | a one-time ticket: 201 ``{"url", "expires_in"}`` |
| ``GET /api/downloads/{ticket}`` | the file's bytes as an attachment, once per ticket |

The first needs the token or a browser session like every endpoint; the
second is what a plain link can fetch, so the server's guard lets it through
without credentials (the ``Host``/``Origin`` checks still apply) and the
ticket is the credential: one file, one use, :data:`~kith.api.downloads.TICKET_TTL`
seconds (:mod:`kith.api.downloads`). A wrong, used or expired ticket is 403
``bad_ticket``. The response streams from the vault chunk by chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, Protocol
from urllib.parse import quote

from aiohttp import web

from kith.api.downloads import DOWNLOAD_PREFIX, DownloadTickets
from kith.errors import KithError
from kith.files import sanitise_name
from kith.runtime.files.transfers import FileView

__all__ = [
    "BadTicket",
    "FileContent",
    "add_download_routes",
    "attachment_disposition",
    "stream_attachment",
]


class FileContent(Protocol):
    """Where the bytes come from: :class:`~kith.runtime.files.service.FileService`."""

    async def content(self, file_id: str) -> tuple[FileView, AsyncIterator[bytes]]:
        """A file's bytes, chunk by chunk (raises for one this side may not read)."""
        ...


_FILES: Final[web.AppKey[FileContent]] = web.AppKey("download_files", FileContent)
_TICKETS: Final[web.AppKey[DownloadTickets]] = web.AppKey("download_tickets", DownloadTickets)


class BadTicket(KithError):
    """A download ticket that is unknown, used or expired."""

    code = "bad_ticket"


def attachment_disposition(name: str) -> str:
    """``Content-Disposition`` for a download named ``name``: sanitised again
    (never a path), an ASCII fallback and the UTF-8 name."""
    safe = sanitise_name(name)
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in safe)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"


async def issue_ticket(request: web.Request) -> web.Response:
    """A one-time download URL for a file this side may read."""
    file_id = request.match_info["fid"]
    await request.app[_FILES].content(file_id)  # refuses unknown or unreceived files
    tickets = request.app[_TICKETS]
    url = DOWNLOAD_PREFIX + tickets.issue(file_id)
    return web.json_response({"url": url, "expires_in": tickets.ttl}, status=201)


async def download(request: web.Request) -> web.StreamResponse:
    """The file a ticket names, streamed as an attachment (the ticket is used up)."""
    file_id = request.app[_TICKETS].redeem(request.match_info["ticket"])
    if file_id is None:
        raise BadTicket("this download link is wrong, used or expired: download again")
    view, chunks = await request.app[_FILES].content(file_id)
    return await stream_attachment(request, view, chunks)


async def stream_attachment(
    request: web.Request, view: FileView, chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    """A file's bytes as a download, chunk by chunk: never sniffed, rendered or cached."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": attachment_disposition(view.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        }
    )
    response.content_length = view.size
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


def add_download_routes(
    app: web.Application, files: FileContent | None, tickets: DownloadTickets
) -> None:
    """Register the download endpoints on ``app`` (none without file transfers)."""
    if files is None:
        return
    app[_FILES] = files
    app[_TICKETS] = tickets
    app.router.add_post("/api/files/{fid}/download", issue_ticket)
    app.router.add_get(DOWNLOAD_PREFIX + "{ticket}", download)
