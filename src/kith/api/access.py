"""Who may use the local API: token, browser sessions, Host and Origin checks.

Pure rules (no aiohttp here) so they can be tested without a server.

- The per-run token (from the owner-only runtime file) authenticates programs
  such as the CLI: ``Authorization: Bearer <token>``. Only the token can mint
  sign-in codes.
- A browser trades a one-time sign-in code (``POST /api/sessions``) for a
  session secret that the page keeps in ``sessionStorage`` and sends as the
  ``X-Kith-Session`` header (on the events WebSocket, as the subprotocol
  ``kith.session.<secret>``). No cookie is involved: a browser hands cookies
  to every port of 127.0.0.1, but a header only to the page's own origin, so
  another listener on the machine never receives the credential, and two
  nodes open side by side in one browser keep their own sessions.
- Sessions end after :data:`SESSION_IDLE_TIMEOUT` seconds without a request,
  on sign-out, and with the node.
- ``Host`` must name the loopback address and port the API listens on
  (defeats DNS rebinding); an ``Origin``, when sent, must be that same origin
  (no CORS: other web pages cannot drive the node).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "EVENTS_PROTOCOL",
    "LOGIN_CODE_TTL",
    "SESSION_HEADER",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_PROTOCOL_PREFIX",
    "AccessPolicy",
    "Credential",
    "Verdict",
    "session_from_protocols",
]

SESSION_HEADER: Final = "X-Kith-Session"
EVENTS_PROTOCOL: Final = "kith.events"
SESSION_PROTOCOL_PREFIX: Final = "kith.session."
LOGIN_CODE_TTL: Final = 120.0
SESSION_IDLE_TIMEOUT: Final = 12 * 3600.0
_LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost")


class Credential(enum.Enum):
    """What a request proved: the programs' token or a browser session."""

    TOKEN = "token"
    SESSION = "session"


@dataclass(frozen=True)
class Verdict:
    """The outcome of an access check: ``status`` 0 means allowed."""

    status: int = 0
    code: str = ""
    message: str = ""
    credential: Credential | None = None

    @property
    def allowed(self) -> bool:
        """True when the request may proceed."""
        return self.status == 0


ALLOWED: Final = Verdict()
_BY_TOKEN: Final = Verdict(credential=Credential.TOKEN)
_BY_SESSION: Final = Verdict(credential=Credential.SESSION)


def session_from_protocols(header: str | None) -> str | None:
    """The session secret offered as a WebSocket subprotocol, if any."""
    for value in (header or "").split(","):
        name = value.strip()
        if name.startswith(SESSION_PROTOCOL_PREFIX):
            return name.removeprefix(SESSION_PROTOCOL_PREFIX)
    return None


@dataclass
class AccessPolicy:
    """Token, sessions and sign-in codes of one node run.

    Args:
        token: The per-run API token.
        clock: Monotonic seconds (code expiry, idle sessions).
        port: The port the API listens on (set once bound).
        idle_timeout: Seconds without a request after which a session ends.
    """

    token: str = field(repr=False)
    clock: Callable[[], float]
    port: int = 0
    idle_timeout: float = SESSION_IDLE_TIMEOUT
    _sessions: dict[bytes, float] = field(default_factory=dict, repr=False)
    """Live sessions: SHA-256 of the secret → when last used (``clock`` seconds)."""
    _codes: dict[str, float] = field(default_factory=dict, repr=False)
    _addressed_port: int = field(default=-1, repr=False)
    _hosts_and_origins: tuple[frozenset[str], frozenset[str]] = field(
        default=(frozenset(), frozenset()), repr=False
    )

    def check_origin(self, host: str | None, origin: str | None) -> Verdict:
        """Refuse foreign ``Host`` or ``Origin`` headers (403)."""
        hosts, origins = self._addresses()
        if host is None or host.lower() not in hosts:
            return Verdict(403, "forbidden_host", "requests must be addressed to the local node")
        if origin is not None and origin.lower() not in origins:
            return Verdict(403, "forbidden_origin", "cross-origin requests are not allowed")
        return ALLOWED

    def _addresses(self) -> tuple[frozenset[str], frozenset[str]]:
        """The ``Host`` and ``Origin`` values of this node, made once per port."""
        if self._addressed_port != self.port:
            hosts = frozenset(f"{name}:{self.port}" for name in _LOOPBACK_NAMES)
            self._hosts_and_origins = (hosts, frozenset(f"http://{h}" for h in hosts))
            self._addressed_port = self.port
        return self._hosts_and_origins

    def check_credentials(self, authorization: str | None, session: str | None) -> Verdict:
        """Accept the bearer token or a live session (else 401); a use renews the session."""
        if authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and _same(value.strip(), self.token):
                return _BY_TOKEN
            return Verdict(401, "bad_token", "the API token is wrong")
        if session is None:
            return Verdict(401, "unauthenticated", "a token or a session is required")
        return self._check_session(session)

    def _check_session(self, session: str) -> Verdict:
        match = _hash(session)
        if match not in self._sessions:
            return Verdict(401, "unauthenticated", "this browser is not signed in")
        now = self.clock()
        if now - self._sessions[match] > self.idle_timeout:
            del self._sessions[match]
            return Verdict(401, "session_expired", "the session expired: sign in again")
        self._sessions[match] = now
        return _BY_SESSION

    def new_login_code(self) -> str:
        """A one-time sign-in code, valid for :data:`LOGIN_CODE_TTL` seconds."""
        self._expire()
        code = secrets.token_urlsafe(24)
        self._codes[code] = self.clock() + LOGIN_CODE_TTL
        return code

    def redeem(self, code: str) -> str | None:
        """Trade a valid code for a new session secret; None for a bad or used code."""
        self._expire()
        match = self._find(self._codes, code)
        if match is None:
            return None
        del self._codes[match]
        session = secrets.token_urlsafe(32)
        self._sessions[_hash(session)] = self.clock()
        return session

    def end_session(self, session: str) -> bool:
        """Sign a session out; False when there was no such session."""
        return self._sessions.pop(_hash(session), None) is not None

    def export_sessions(self, wall_now: float) -> list[tuple[bytes, float]]:
        """The live sessions as ``(secret_hash, last_used)`` with wall-clock times,
        for keeping across a clean restart (only hashes: no secret leaves memory)."""
        self._expire()
        now = self.clock()
        return [(digest, wall_now - (now - used)) for digest, used in self._sessions.items()]

    def restore_sessions(self, kept: Iterable[tuple[bytes, float]], wall_now: float) -> int:
        """Take back sessions an earlier run kept (the time the node was down
        counts as idle); return how many are still live."""
        now = self.clock()
        for digest, last_used in kept:
            idle = max(0.0, wall_now - last_used)
            if idle <= self.idle_timeout:
                self._sessions[digest] = now - idle
        return len(self._sessions)

    @staticmethod
    def _find(secrets_: dict[str, float], given: str) -> str | None:
        return next((s for s in secrets_ if _same(given, s)), None)

    def _expire(self) -> None:
        now = self.clock()
        for code in [c for c, until in self._codes.items() if until <= now]:
            del self._codes[code]
        idle = [s for s, used in self._sessions.items() if now - used > self.idle_timeout]
        for session in idle:
            del self._sessions[session]


def _hash(secret: str) -> bytes:
    """How a session secret is known once issued: its SHA-256 (a lookup by
    hash reveals nothing about the secret to a timing observer)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
