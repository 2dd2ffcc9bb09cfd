"""Who may use the local API: token, session cookie, Host and Origin checks.

Pure rules (no aiohttp here) so they can be tested without a server.

- The per-run token (from the runtime file) authenticates programs such as
  the CLI: ``Authorization: Bearer <token>``.
- A browser trades a one-time login code (``GET /login?code=...``) for a
  session cookie; codes expire and work once.
- ``Host`` must name the loopback address and port the API listens on
  (defeats DNS rebinding); an ``Origin``, when sent, must be that same origin
  (no CORS: other web pages cannot drive the node).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["SESSION_COOKIE", "AccessPolicy", "Verdict"]

SESSION_COOKIE: Final = "kith_session"
LOGIN_CODE_TTL: Final = 120.0
_LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Verdict:
    """The outcome of an access check: ``status`` 0 means allowed."""

    status: int = 0
    code: str = ""
    message: str = ""

    @property
    def allowed(self) -> bool:
        """True when the request may proceed."""
        return self.status == 0


ALLOWED: Final = Verdict()


@dataclass
class AccessPolicy:
    """Token, sessions and login codes of one node run.

    Args:
        token: The per-run API token.
        clock: Monotonic seconds (login code expiry).
    """

    token: str = field(repr=False)
    clock: Callable[[], float]
    port: int = 0
    _sessions: set[str] = field(default_factory=set, repr=False)
    _codes: dict[str, float] = field(default_factory=dict, repr=False)

    def check_origin(self, host: str | None, origin: str | None) -> Verdict:
        """Refuse foreign ``Host`` or ``Origin`` headers (403)."""
        hosts = {f"{name}:{self.port}" for name in _LOOPBACK_NAMES}
        if host is None or host.lower() not in hosts:
            return Verdict(403, "forbidden_host", "requests must be addressed to the local node")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in hosts}:
            return Verdict(403, "forbidden_origin", "cross-origin requests are not allowed")
        return ALLOWED

    def check_credentials(self, authorization: str | None, session: str | None) -> Verdict:
        """Accept the bearer token or a session cookie (else 401)."""
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and _same(value.strip(), self.token):
                return ALLOWED
            return Verdict(401, "bad_token", "the API token is wrong")
        if session is not None and any(_same(session, s) for s in self._sessions):
            return ALLOWED
        return Verdict(401, "unauthenticated", "a token or a session is required")

    def new_login_code(self) -> str:
        """A one-time code for ``/login``, valid for two minutes."""
        self._expire()
        code = secrets.token_urlsafe(24)
        self._codes[code] = self.clock() + LOGIN_CODE_TTL
        return code

    def redeem(self, code: str) -> str | None:
        """Trade a valid code for a new session secret (the cookie value)."""
        self._expire()
        match = next((c for c in self._codes if _same(code, c)), None)
        if match is None:
            return None
        del self._codes[match]
        session = secrets.token_urlsafe(32)
        self._sessions.add(session)
        return session

    def _expire(self) -> None:
        now = self.clock()
        for code in [c for c, until in self._codes.items() if until <= now]:
            del self._codes[code]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
