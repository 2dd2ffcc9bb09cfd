"""Browser sign-in on the local API: codes, sessions, sign-out.

- ``POST /api/login-codes`` (the programs' bearer token only): a one-time
  code and the sign-in URL ``/login#code=CODE``. The code travels in the
  fragment, which a browser never sends to any server.
- ``GET /login`` (served by :mod:`kith.ui`): a page whose script reads the
  fragment and trades the code.
- ``POST /api/sessions`` with ``{"code"}`` (no credential needed): 201
  ``{"session", "idle_timeout"}``; the page keeps the secret in
  ``sessionStorage`` and sends it as ``X-Kith-Session``.
- ``DELETE /api/session`` (a browser session): sign that session out.

The rules themselves live in :class:`kith.api.access.AccessPolicy`.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from kith.api.access import SESSION_HEADER, AccessPolicy, Credential, session_from_protocols
from kith.api.bodies import json_object, non_empty_string
from kith.api.errors import error_response

__all__ = ["CREDENTIAL", "OPEN_PATHS", "TOKEN_ONLY_PATHS", "add_session_routes", "session_of"]

CREDENTIAL: Final[web.RequestKey[Credential | None]] = web.RequestKey("credential")
OPEN_PATHS: Final = frozenset({"/", "/login", "/api/sessions"})
TOKEN_ONLY_PATHS: Final = frozenset({"/api/login-codes"})
_POLICY: Final[web.AppKey[AccessPolicy]] = web.AppKey("access_policy")


def session_of(request: web.Request) -> str | None:
    """The session secret a request carries: the header, or the events socket's subprotocol."""
    session = request.headers.get(SESSION_HEADER)
    if session is None and request.path == "/api/events":
        session = session_from_protocols(request.headers.get("Sec-WebSocket-Protocol"))
    return session


def _policy(request: web.Request) -> AccessPolicy:
    return request.app[_POLICY]


async def new_login_code(request: web.Request) -> web.Response:
    """``POST /api/login-codes``: a one-time code and its sign-in URL."""
    policy = _policy(request)
    code = policy.new_login_code()
    url = f"http://127.0.0.1:{policy.port}/login#code={code}"
    return web.json_response({"code": code, "url": url}, status=201)


async def _code_of(request: web.Request) -> str:
    return non_empty_string(await json_object(request), "code")


async def new_session(request: web.Request) -> web.Response:
    """``POST /api/sessions``: trade a sign-in code for a session secret."""
    policy = _policy(request)
    session = policy.redeem(await _code_of(request))
    if session is None:
        return error_response(401, "bad_login_code", "the sign-in link is invalid or expired")
    body = {"session": session, "idle_timeout": policy.idle_timeout}
    return web.json_response(body, status=201, headers={"Cache-Control": "no-store"})


async def end_session(request: web.Request) -> web.Response:
    """``DELETE /api/session``: sign out the session that sent the request."""
    session = session_of(request)
    if request.get(CREDENTIAL) is not Credential.SESSION or session is None:
        return error_response(400, "not_a_session", "only a browser session can sign out")
    _policy(request).end_session(session)
    return web.Response(status=204)


def add_session_routes(app: web.Application, policy: AccessPolicy) -> None:
    """Register the sign-in endpoints on ``app``."""
    app[_POLICY] = policy
    app.router.add_post("/api/login-codes", new_login_code)
    app.router.add_post("/api/sessions", new_session)
    app.router.add_delete("/api/session", end_session)
