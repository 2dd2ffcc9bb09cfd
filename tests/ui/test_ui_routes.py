"""The UI's static routes and headers on an in-process aiohttp app (no node)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kith.ui import CONTENT_SECURITY_POLICY, STATIC_DIR, add_ui_routes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def refuse_without_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stands in for the API's guard: a session cookie or 401."""
    if request.cookies.get("s") != "ok":
        return web.json_response({"error": {"code": "unauthenticated"}}, status=401)
    return await handler(request)


def app() -> web.Application:
    application = web.Application(middlewares=[refuse_without_cookie])
    add_ui_routes(application)
    return application


async def client() -> TestClient[web.Request, web.Application]:
    test_client = TestClient(TestServer(app()))
    await test_client.start_server()
    return test_client


async def test_the_page_is_served_with_strict_headers() -> None:
    c = await client()
    try:
        response = await c.get("/", cookies={"s": "ok"})
        assert response.status == 200
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert '<script type="module" src="/static/js/main.js">' in await response.text()
    finally:
        await c.close()


async def test_a_refused_page_becomes_the_sign_in_page() -> None:
    c = await client()
    try:
        response = await c.get("/")
        assert response.status == 401
        assert response.content_type == "text/html"
        assert "kith open" in await response.text()
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    finally:
        await c.close()


async def test_a_refused_api_call_stays_json() -> None:
    c = await client()
    try:
        response = await c.get("/api/status")
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthenticated"
    finally:
        await c.close()


async def test_the_sign_in_page_style_needs_no_session() -> None:
    c = await client()
    try:
        assert (await c.get("/static/signin.css")).status == 200
        assert (await c.get("/static/app.css")).status == 401
    finally:
        await c.close()


def test_no_inline_script_or_style_in_the_page() -> None:
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "style=" not in page
    assert "<style" not in page
    assert "http://" not in page
    assert "https://" not in page
