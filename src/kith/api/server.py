"""The local API server: aiohttp on 127.0.0.1, guarded by :class:`AccessPolicy`.

Every request passes the guard middleware: the ``Host``/``Origin`` check
(403); then, except for the sign-in page, the app's static files, the
code exchange and one-time downloads (the ticket in the path is their
credential, :mod:`kith.api.download_routes`), the token or a browser session
(401; paths for the token only refuse a session with 403); then it counts as
user activity.
Errors raised by operations become JSON errors with a code; the node goes on.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias

from aiohttp import web

from kith.api.access import AccessPolicy, Credential, Verdict
from kith.api.account_routes import AccountAccess, add_account_routes
from kith.api.call_routes import add_call_routes
from kith.api.download_routes import add_download_routes
from kith.api.downloads import DOWNLOAD_PREFIX, DownloadTickets
from kith.api.errors import error_response, status_for
from kith.api.events_ws import EventsEndpoint
from kith.api.file_routes import add_file_routes
from kith.api.group_file_routes import add_group_file_routes
from kith.api.group_routes import add_group_routes
from kith.api.http_log import http_logger
from kith.api.message_routes import add_message_routes
from kith.api.routes import add_routes
from kith.api.search_routes import add_search_routes
from kith.api.session_routes import (
    CREDENTIAL,
    OPEN_PATHS,
    TOKEN_ONLY_PATHS,
    add_session_routes,
    session_of,
)
from kith.runtime.calls.service import CallService
from kith.runtime.files.service import FileService
from kith.runtime.groups.files import GroupFiles
from kith.runtime.groups.service import GroupService
from kith.runtime.live import ConnectionEvent, EventHub, NodeEvent
from kith.runtime.service import NodeService
from kith.ui import add_ui_routes

__all__ = ["ApiServer"]

MAX_BODY: Final = 64 * 1024
Handler: TypeAlias = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TOKEN_REQUIRED: Final = Verdict(
    403, "token_required", "only the node's API token may do this, not a browser session"
)


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(("/static/", DOWNLOAD_PREFIX))


class ApiServer:
    """The node's local HTTP + WebSocket API.

    Args:
        service: The node's operations.
        hub: Live events for ``/api/events``.
        policy: Token, sessions and origin rules of this run.
        log: Where unexpected errors are logged.
        host: Loopback address to bind.
        port: Port to bind; 0 picks a free one.
        fallback: When ``port`` is taken, bind a free one instead (logged as a warning).
        account: Store and data directory for the account endpoints (backup,
            passphrase change, QR code); without it they are not served.
        files: File transfers (the file endpoints); without it they are not served.
        calls: Calls (the call endpoints); without it they are not served.
        groups: Groups (the group endpoints); without it they are not served.
        group_files: Files in groups (their endpoints); without it they are not served.
    """

    def __init__(
        self,
        service: NodeService,
        hub: EventHub,
        policy: AccessPolicy,
        log: logging.Logger,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fallback: bool = False,
        account: AccountAccess | None = None,
        files: FileService | None = None,
        calls: CallService | None = None,
        groups: GroupService | None = None,
        group_files: GroupFiles | None = None,
    ) -> None:
        self._service = service
        self._policy = policy
        self._log = log
        self._host = host
        self._port = port
        self._fallback = fallback
        self._account = account
        self._files = files
        self._calls = calls
        self._groups = groups
        self._group_files = group_files
        self._events = EventsEndpoint(hub, self._snapshot)
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        return self._policy.port

    def _snapshot(self) -> list[NodeEvent]:
        connection = ConnectionEvent(self._service.status().connection)
        return [self._service.status_event(), connection]

    def build_app(self) -> web.Application:
        """The aiohttp application (routes and middleware)."""
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY)
        add_routes(app, self._service)
        add_message_routes(app, self._service.chat)
        add_search_routes(app, self._service.chat)
        add_file_routes(app, self._files)
        add_download_routes(app, self._files, DownloadTickets(time.monotonic))
        add_call_routes(app, self._calls)
        add_group_routes(app, self._groups)
        add_group_file_routes(app, self._group_files)
        app.router.add_get("/api/events", self._events.handle)
        add_session_routes(app, self._policy)
        if self._account is not None:
            add_account_routes(app, self._account)
        add_ui_routes(app)
        return app

    async def start(self) -> int:
        """Bind and serve; return the port."""
        runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            handle_signals=False,
            logger=http_logger(self._log),
        )
        await runner.setup()
        try:
            await self._bind(runner)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._policy.port = int(runner.addresses[0][1])
        return self._policy.port

    async def _bind(self, runner: web.AppRunner) -> None:
        # SO_REUSEADDR on POSIX only lets a restarted node re-bind its port while old
        # connections linger in TIME_WAIT; it never shares a port another process listens on.
        reuse = sys.platform != "win32"
        try:
            await web.TCPSite(runner, self._host, self._port, reuse_address=reuse).start()
        except OSError as exc:
            if not self._fallback or self._port == 0:
                raise
            await web.TCPSite(runner, self._host, 0, reuse_address=reuse).start()
            bound = int(runner.addresses[0][1])
            self._log.warning(
                "the UI port %d is taken (%s); serving the UI on %d for this run "
                "(set another with: kith settings set ui_port N)",
                self._port,
                exc.strerror or exc,
                bound,
            )

    async def stop(self) -> None:
        """Close sockets and stop serving."""
        await self._events.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = request.headers
        verdict = self._policy.check_origin(headers.get("Host"), headers.get("Origin"))
        if verdict.allowed and not _is_open(request.path):
            verdict = self._authenticate(request)
        if not verdict.allowed:
            return _refused(verdict)
        if not _is_open(request.path):
            self._service.activity()
        return await self._handle(request, handler)

    def _authenticate(self, request: web.Request) -> Verdict:
        verdict = self._policy.check_credentials(
            request.headers.get("Authorization"), session_of(request)
        )
        if not verdict.allowed:
            return verdict
        if request.path in TOKEN_ONLY_PATHS and verdict.credential is not Credential.TOKEN:
            return _TOKEN_REQUIRED
        request[CREDENTIAL] = verdict.credential
        return verdict

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = "payload_too_large" if exc.status == 413 else "not_found"
            code = "method_not_allowed" if exc.status == 405 else code
            return error_response(exc.status, code, exc.reason)
        except Exception as exc:
            status, code, message = status_for(exc)
            if status >= 500:
                # The traceback is for the log only; the client gets the generic message.
                # Method and path only: no query string, headers or body.
                self._log.error(
                    "API %s %s failed: %s", request.method, request.path, code, exc_info=exc
                )
            return error_response(status, code, message)


def _refused(verdict: Verdict) -> web.Response:
    response = error_response(verdict.status, verdict.code, verdict.message)
    if verdict.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response
