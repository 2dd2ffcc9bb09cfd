"""Windows DPAPI (CryptProtectData) through ctypes, for the current user."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from kith.errors import KeyStoreError
from kith.keyprotect.wrapfile import FORMAT, VERSION, DpapiWrap

__all__ = ["available", "protect", "unprotect"]

_ENTROPY = b"kith-database-key-v1"
_UI_FORBIDDEN = 0x01


class _Blob(ctypes.Structure):
    _fields_ = [("cbData", ctypes.c_uint32), ("pbData", ctypes.POINTER(ctypes.c_char))]


def available() -> bool:
    """True on Windows."""
    return sys.platform == "win32"


def _blob(data: bytes) -> tuple[_Blob, Any]:
    buffer = ctypes.create_string_buffer(data, len(data))
    return _Blob(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char))), buffer


def _call(function_name: str, data: bytes) -> bytes:
    windll: Any = getattr(ctypes, "windll")  # noqa: B009 - only exists on Windows
    crypt32, kernel32 = windll.crypt32, windll.kernel32
    data_in, _keep = _blob(data)
    entropy, _keep2 = _blob(_ENTROPY)
    out = _Blob()
    ok = getattr(crypt32, function_name)(
        ctypes.byref(data_in),
        None,
        ctypes.byref(entropy),
        None,
        None,
        _UI_FORBIDDEN,
        ctypes.byref(out),
    )
    if not ok:
        raise KeyStoreError(f"Windows DPAPI {function_name} failed")
    try:
        return ctypes.string_at(out.pbData, out.cbData)
    finally:
        kernel32.LocalFree(out.pbData)


def protect(key: bytes) -> DpapiWrap:
    """Protect ``key`` for the current Windows user."""
    return DpapiWrap(FORMAT, VERSION, blob=_call("CryptProtectData", key))


def unprotect(wrapped: DpapiWrap) -> bytes:
    """Recover the key (only works for the same Windows user)."""
    if not available():
        raise KeyStoreError("this data directory is protected by Windows DPAPI; open it on Windows")
    return _call("CryptUnprotectData", wrapped.blob)
