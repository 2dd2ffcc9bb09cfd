"""Account endpoints of the local API, for the UI's settings panel.

- ``GET /api/account``: how the database key is protected (so the UI offers
  a passphrase change only where there is a passphrase).
- ``POST /api/account/backup`` with ``{"password", "passphrase"}`` (or
  ``{"password", "confirm": true}`` where the OS key store protects the
  database key): an encrypted backup (identity, contacts, settings) as a file
  download. The database passphrase proves that the owner asks, not just
  someone holding a session; a wrong one is refused (``wrong_passphrase``).
- ``POST /api/account/passphrase`` with ``{"old", "new"}``: rewrap the
  database key under a new passphrase.
- ``GET /api/identity/qr.svg``: the own ID as a QR code (SVG).
- ``POST /api/activity``: the user is active in the UI (the API's guard
  already counts every authenticated request against auto-away).

Each handler calls one foundation function (:mod:`kith.backup`,
:mod:`kith.account`) on the store's worker thread, the node's one executor
boundary for blocking work (SQLCipher, Argon2id).
"""

from __future__ import annotations

import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from kith.account import change_passphrase, protection_of, unlock
from kith.api.bodies import json_object, non_empty_string
from kith.api.errors import BadRequest
from kith.backup import export_backup
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.runtime.store_writer import StoreRunner
from kith.store.store import Store

__all__ = ["AccountAccess", "add_account_routes"]

_ACCESS: Final[web.AppKey[AccountAccess]] = web.AppKey("account")
BACKUP_SUFFIX: Final = ".kithbackup"


@dataclass(frozen=True)
class AccountAccess:
    """What the account endpoints act on.

    Attributes:
        store: The node's store (its worker thread runs the blocking work).
        data_dir: The node's data directory (the wrapped key lives there).
    """

    store: StoreRunner
    data_dir: DataDir


def _access(request: web.Request) -> AccountAccess:
    return request.app[_ACCESS]


async def _secrets(request: web.Request, *keys: str) -> list[str]:
    body = await json_object(request)
    return [non_empty_string(body, key) for key in keys]


def _check_owner(data_dir: DataDir, body: dict[str, Any]) -> None:
    """The owner's proof for exporting the identity: passphrase, or confirmation.

    Raises:
        BadRequest: The proof is missing.
        WrongPassphraseError: The passphrase does not unlock the database key.
    """
    if protection_of(data_dir) is Protection.PASSPHRASE:
        passphrase = body.get("passphrase")
        if not isinstance(passphrase, str) or not passphrase:
            raise BadRequest("exporting a backup needs your database passphrase ('passphrase')")
        unlock(data_dir, FixedPassphrase(passphrase))
    elif body.get("confirm") is not True:
        raise BadRequest("exporting a backup needs your confirmation ('confirm': true)")


async def account_info(request: web.Request) -> web.Response:
    """``GET /api/account``: ``{"protection": "passphrase" | "keyring" | "dpapi"}``."""
    access = _access(request)
    protection = await access.store.run(lambda _: protection_of(access.data_dir))
    return web.json_response({"protection": protection.value})


def _backup_bytes(store: Store, password: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kith-backup-") as tmp:
        target = Path(tmp) / f"backup{BACKUP_SUFFIX}"
        export_backup(store, target, password)
        return target.read_bytes()


async def download_backup(request: web.Request) -> web.Response:
    """``POST /api/account/backup``: the encrypted backup file as a download."""
    body = await json_object(request)
    password = non_empty_string(body, "password")
    access = _access(request)
    await access.store.run(lambda _: _check_owner(access.data_dir, body))
    data: bytes = await access.store.run(lambda s: _backup_bytes(s, password))
    name = time.strftime("kith-%Y%m%d-%H%M%S", time.gmtime()) + BACKUP_SUFFIX
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def new_passphrase(request: web.Request) -> web.Response:
    """``POST /api/account/passphrase``: rewrap the database key."""
    old, new = await _secrets(request, "old", "new")
    access = _access(request)
    await access.store.run(
        lambda _: change_passphrase(access.data_dir, FixedPassphrase(old), FixedPassphrase(new))
    )
    return web.Response(status=204)


def _qr_svg(kith_id: str) -> bytes:
    import segno

    out = io.BytesIO()
    code = segno.make_qr(kith_id.upper(), error="m")
    code.save(out, kind="svg", scale=6, border=2, dark="#000", light="#fff", xmldecl=False)
    return out.getvalue()


async def identity_qr(request: web.Request) -> web.Response:
    """``GET /api/identity/qr.svg``: the own Kith ID as a QR code."""
    kith_id: str = await _access(request).store.run(lambda s: s.identity.info().kith_id)
    return web.Response(body=_qr_svg(kith_id), content_type="image/svg+xml")


async def activity(request: web.Request) -> web.Response:
    """``POST /api/activity``: nothing to do; the guard counted the request."""
    return web.Response(status=204)


def add_account_routes(app: web.Application, access: AccountAccess) -> None:
    """Register the account endpoints on ``app``."""
    app[_ACCESS] = access
    app.router.add_get("/api/account", account_info)
    app.router.add_post("/api/account/backup", download_backup)
    app.router.add_post("/api/account/passphrase", new_passphrase)
    app.router.add_get("/api/identity/qr.svg", identity_qr)
    app.router.add_post("/api/activity", activity)
