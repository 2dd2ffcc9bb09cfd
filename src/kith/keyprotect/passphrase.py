"""Wrapping the database key under a passphrase: Argon2id + ChaCha20-Poly1305.

The associated data binds the file format, version and every KDF parameter to
the ciphertext, so editing the parameters in the file makes unwrapping fail
instead of silently weakening it. A wrong passphrase is detected by the AEAD
tag, never by a database error.
"""

from __future__ import annotations

import os
from typing import Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kith.errors import WrongPassphraseError
from kith.keyprotect.wrapfile import FORMAT, VERSION, Argon2Params, PassphraseWrap

__all__ = ["DEFAULT_PARAMS", "derive", "new_params", "unwrap", "wrap"]

#: 64 MiB, 3 passes, 2 lanes: about 0.09 s on a 2-core machine (see docs/storage.md).
DEFAULT_PARAMS: Final = {"memory_kib": 64 * 1024, "time_cost": 3, "parallelism": 2}
#: ``KITH_ARGON2_PROFILE=test``: cheap parameters for test suites only. They are
#: stored with the wrapped key like any others, so unlocking never depends on it.
TEST_PARAMS: Final = {"memory_kib": 8 * 1024, "time_cost": 1, "parallelism": 1}
ENV_PROFILE: Final = "KITH_ARGON2_PROFILE"
SALT_SIZE: Final = 16
NONCE_SIZE: Final = 12


def new_params(memory_kib: int | None = None, time_cost: int | None = None) -> Argon2Params:
    """Fresh Argon2id parameters with a random salt (defaults, or the test profile)."""
    base = TEST_PARAMS if os.environ.get(ENV_PROFILE) == "test" else DEFAULT_PARAMS
    return Argon2Params(
        memory_kib=memory_kib or base["memory_kib"],
        time_cost=time_cost or base["time_cost"],
        parallelism=base["parallelism"],
        salt=os.urandom(SALT_SIZE),
    )


def derive(passphrase: str, params: Argon2Params) -> bytes:
    """Derive a 32-byte wrapping key (blocking: run it off the event loop)."""
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _associated_data(params: Argon2Params) -> bytes:
    return (
        f"{FORMAT}/v{VERSION}/passphrase/argon2id/m={params.memory_kib}/"
        f"t={params.time_cost}/p={params.parallelism}/"
    ).encode() + params.salt


def wrap(key: bytes, passphrase: str, params: Argon2Params | None = None) -> PassphraseWrap:
    """Wrap ``key`` under ``passphrase``."""
    params = params or new_params()
    nonce = os.urandom(NONCE_SIZE)
    aead = ChaCha20Poly1305(derive(passphrase, params))
    ciphertext = aead.encrypt(nonce, key, _associated_data(params))
    return PassphraseWrap(FORMAT, VERSION, kdf=params, nonce=nonce, ciphertext=ciphertext)


def unwrap(wrapped: PassphraseWrap, passphrase: str) -> bytes:
    """Return the key; raise WrongPassphraseError if the AEAD tag does not verify."""
    aead = ChaCha20Poly1305(derive(passphrase, wrapped.kdf))
    try:
        return aead.decrypt(wrapped.nonce, wrapped.ciphertext, _associated_data(wrapped.kdf))
    except InvalidTag:
        raise WrongPassphraseError(
            "wrong passphrase: it does not unlock this data directory"
        ) from None
