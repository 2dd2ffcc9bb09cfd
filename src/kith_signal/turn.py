"""Short-lived TURN credentials in coturn's shared-secret scheme.

coturn's ``use-auth-secret`` (the "TURN REST API" draft) accepts any
``username`` of the form ``"<expiry unix time>:<anything>"`` whose password
is ``base64(HMAC-SHA1(static-auth-secret, username))``, until that expiry.
``kith-signal`` and coturn share only the secret. The part after the colon
is random per connection: coturn logs usernames, and they must not name the
user.

:func:`turn_url` checks a ``--turn-url``, :func:`turn_credentials` is the pure
scheme, :class:`TurnIssuer` mints one :class:`~kith_proto.wire.TurnServer`
per connection with a clock and a source of randomness passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from kith_proto import wire

__all__ = [
    "DEFAULT_TURN_TTL",
    "MAX_TURN_TTL",
    "MIN_TURN_TTL",
    "TurnConfigError",
    "TurnIssuer",
    "turn_credentials",
    "turn_url",
]

DEFAULT_TURN_TTL: Final = 86400
"""Seconds a credential stays valid (coturn checks it at each allocation and
refresh); a node gets new ones on every reconnection."""
MIN_TURN_TTL: Final = 60
MAX_TURN_TTL: Final = 7 * 86400
OPAQUE_BYTES: Final = 12

# turn:HOST:PORT[?transport=udp|tcp], HOST a name, IPv4 or [IPv6]; turns: is TLS.
_TURN_URL: Final = re.compile(
    r"^turns?:(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})(?:\?transport=(?:udp|tcp))?$"
)


class TurnConfigError(ValueError):
    """A ``--turn-url`` or TURN secret is unusable (the message says why)."""


def turn_url(text: str) -> str:
    """``text`` if it is a usable ``turn:HOST:PORT[?transport=udp|tcp]`` URL.

    Raises:
        TurnConfigError: it is not.
    """
    match = _TURN_URL.match(text)
    if match is None or not 0 < int(match.group(1)) <= 65535:
        raise TurnConfigError(
            f"expected turn:HOST:PORT or turn:HOST:PORT?transport=udp|tcp, not {text[:100]!r}"
        )
    if text.startswith("turns:") and text.endswith("transport=udp"):
        raise TurnConfigError("turns: (TLS) runs over tcp only")
    return text


def turn_credentials(secret: bytes, expiry: int, opaque: str) -> tuple[str, str]:
    """The ``(username, password)`` coturn accepts until ``expiry``."""
    username = f"{expiry}:{opaque}"
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class TurnIssuer:
    """Mints TURN credentials for one connection.

    Attributes:
        urls: The relays (``--turn-url``), all behind the same secret.
        secret: coturn's ``static-auth-secret``.
        ttl: Seconds each credential stays valid.
        clock: Wall-clock seconds (coturn compares with its own clock).
        opaque: Returns a fresh random, unlinkable username part.
    """

    urls: tuple[str, ...]
    secret: bytes = field(repr=False)
    ttl: int = DEFAULT_TURN_TTL
    clock: Callable[[], float] = time.time
    opaque: Callable[[], str] = lambda: secrets.token_urlsafe(OPAQUE_BYTES)

    def __post_init__(self) -> None:
        if not self.urls:
            raise TurnConfigError("a TURN issuer needs at least one --turn-url")
        for url in self.urls:
            turn_url(url)
        if not self.secret:
            raise TurnConfigError("the TURN secret is empty")
        if not MIN_TURN_TTL <= self.ttl <= MAX_TURN_TTL:
            raise TurnConfigError(f"--turn-ttl must be {MIN_TURN_TTL} to {MAX_TURN_TTL} seconds")

    def issue(self) -> tuple[wire.TurnServer, ...]:
        """Fresh credentials for every relay (one username for all)."""
        expiry = int(self.clock()) + self.ttl
        username, password = turn_credentials(self.secret, expiry, self.opaque())
        return (wire.TurnServer(urls=list(self.urls), username=username, credential=password),)


def read_secret(path: str) -> bytes:
    """The secret in ``path`` (surrounding whitespace stripped).

    Raises:
        TurnConfigError: unreadable, empty, or not one line of printable text.
    """
    try:
        with open(path, "rb") as file:
            raw = file.read(4097)
    except OSError as exc:
        raise TurnConfigError(f"cannot read it: {exc.strerror or type(exc).__name__}") from None
    secret = raw.strip()
    if not secret:
        raise TurnConfigError("it is empty")
    if len(raw) > 4096 or any(not 0x21 <= b <= 0x7E for b in secret):
        raise TurnConfigError("expected one line of printable characters, at most 4 KiB")
    return secret


def issuer_from_flags(urls: Sequence[str], secret_file: str | None, ttl: int) -> TurnIssuer | None:
    """The issuer the ``--turn-*`` flags describe (``None`` without ``--turn-url``).

    Raises:
        TurnConfigError: the flags do not go together, or the secret is unusable.
    """
    if not urls:
        if secret_file is not None:
            raise TurnConfigError("--turn-secret-file needs at least one --turn-url")
        return None
    if secret_file is None:
        raise TurnConfigError("--turn-url needs --turn-secret-file")
    try:
        secret = read_secret(secret_file)
    except TurnConfigError as exc:
        raise TurnConfigError(f"--turn-secret-file {secret_file}: {exc}") from None
    return TurnIssuer(tuple(urls), secret, ttl)
