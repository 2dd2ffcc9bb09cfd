"""Serving the UI's static files on the local API, with strict security headers.

The pages sit behind the same guard as the API (Host/Origin check); they
hold no data, so they need no credential: the page signs in and then sends
its session with every API call. This module adds:

- ``GET /`` (the app page), ``GET /login`` (the sign-in page, which trades
  the code in the URL's fragment for a session) and ``/static/...`` (their
  CSS, JavaScript modules, icons), read from the package's ``static`` folder;
- an outer middleware that puts a strict Content-Security-Policy and related
  headers on every response, and turns a refused *page* request (401/403
  without a session) into a short HTML page telling the user how to sign in,
  instead of raw JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, TypeAlias

from aiohttp import web

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "add_ui_routes"]

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "media-src blob:",  # a voice message plays from its local copy, as a blob: URL
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SIGN_IN_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kith: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/signin.css"></head>
<body><main><h1>Kith</h1><p>{message}</p>
<p>Sign in with <code>kith open</code> in a terminal.</p>
</main></body></html>
"""
_PUBLIC_ASSETS: Final = {
    "/static/signin.css": "signin.css",
    "/static/icon.svg": "icon.svg",
    "/static/js/signin.js": "js/signin.js",
    "/static/js/session.js": "js/session.js",
    "/login": "signin.html",
}


def _is_page(request: web.Request) -> bool:
    return not request.path.startswith("/api/") and request.path != "/login"


def _sign_in_page(status: int) -> web.Response:
    message = (
        "This page is only for the local Kith node it was opened from."
        if status == 403
        else "This browser is not signed in to your Kith node."
    )
    return web.Response(
        status=status, text=_SIGN_IN_PAGE.format(message=message), content_type="text/html"
    )


@web.middleware
async def _ui_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in _PUBLIC_ASSETS and request.method == "GET":
        response = await _static_file(_PUBLIC_ASSETS[request.path])
    else:
        response = await handler(request)
        if response.status in (401, 403) and (_is_page(request) or request.path == "/login"):
            response = _sign_in_page(response.status)
    if response.prepared:  # a finished WebSocket: its headers went out long ago
        return response
    response.headers.update(SECURITY_HEADERS)
    if response.content_type == "text/html" or request.path == "/login":
        response.headers["Cache-Control"] = "no-store"
    return response


async def _static_file(name: str) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / name)


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


def add_ui_routes(app: web.Application) -> None:
    """Serve the UI on ``app`` (call before the app starts).

    The header middleware is put outermost, so it also covers responses
    refused by the API's guard.
    """
    app.middlewares.insert(0, _ui_guard)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)
