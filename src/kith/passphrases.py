"""Where passphrases come from: the environment, a prompt, or a fixed value.

Components that need a passphrase take a :class:`PassphraseSource`; the CLI
passes :class:`EnvOrPrompt`, tests and programs pass :class:`FixedPassphrase`.
"""

from __future__ import annotations

import os
import sys
from typing import Final, Protocol

from kith.errors import PassphraseError

__all__ = [
    "ENV_NEW_PASSPHRASE",
    "ENV_PASSPHRASE",
    "EnvOrPrompt",
    "FixedPassphrase",
    "PassphraseSource",
]

ENV_PASSPHRASE: Final = "KITH_PASSPHRASE"
ENV_NEW_PASSPHRASE: Final = "KITH_NEW_PASSPHRASE"


class PassphraseSource(Protocol):
    """Supplies a passphrase for a stated purpose."""

    def passphrase(self, prompt: str, *, confirm: bool = False) -> str:
        """Return the passphrase (``confirm``: ask twice when prompting)."""
        ...


class FixedPassphrase:
    """Always the same passphrase (programs and tests)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "FixedPassphrase(<hidden>)"

    def passphrase(self, prompt: str, *, confirm: bool = False) -> str:
        return self._value


class EnvOrPrompt:
    """An environment variable if set, else a terminal prompt, else a clear error."""

    def __init__(self, env_var: str = ENV_PASSPHRASE) -> None:
        self._env_var = env_var

    def passphrase(self, prompt: str, *, confirm: bool = False) -> str:
        value = os.environ.get(self._env_var)
        if value is not None:
            return value
        if not sys.stdin.isatty():
            raise PassphraseError(
                f"a passphrase is needed: set {self._env_var} or run in a terminal"
            )
        return _prompt(prompt, confirm)


def _prompt(prompt: str, confirm: bool) -> str:
    import getpass

    try:
        first = getpass.getpass(f"{prompt}: ")
        if confirm and getpass.getpass("Repeat it: ") != first:
            raise PassphraseError("the two passphrases do not match")
    except EOFError:
        raise PassphraseError("no passphrase given (input ended): nothing was changed") from None
    return first
