"""Typed errors for everything a user or a program can get wrong.

Every error the node or the CLI reports on purpose is a :class:`KithError`: it
carries a stable ``code`` for programs and a message for people. Messages never
contain secrets (seeds, keys, passphrases).
"""

from __future__ import annotations

__all__ = [
    "AlreadyInitialisedError",
    "BackupError",
    "ContactError",
    "ContactListError",
    "DatabaseDamagedError",
    "KeyStoreError",
    "KithError",
    "NotInitialisedError",
    "PassphraseError",
    "SchemaTooNewError",
    "SettingError",
    "TargetNotEmptyError",
    "WrongPassphraseError",
]


class KithError(Exception):
    """Base of all errors Kith reports to users.

    Attributes:
        code: a short stable identifier such as ``"wrong_passphrase"``.
        message: the human-readable explanation.
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotInitialisedError(KithError):
    """The data directory holds no Kith identity yet."""

    code = "not_initialised"


class AlreadyInitialisedError(KithError):
    """``init`` was asked to create an identity where one already exists."""

    code = "already_initialised"


class TargetNotEmptyError(KithError):
    """A restore was pointed at a data directory that is not empty."""

    code = "target_not_empty"


class KeyStoreError(KithError):
    """The wrapped database key could not be read, stored or unwrapped."""

    code = "key_store"


class PassphraseError(KithError):
    """No usable passphrase was given (empty, mismatched, or none available)."""

    code = "passphrase"


class WrongPassphraseError(KithError):
    """The passphrase does not unwrap the database key."""

    code = "wrong_passphrase"


class DatabaseDamagedError(KithError):
    """The database file is missing, truncated, corrupted or not Kith's."""

    code = "database_damaged"


class SchemaTooNewError(KithError):
    """The database was written by a newer Kith than this one."""

    code = "schema_too_new"


class ContactError(KithError):
    """A contact operation was refused (bad ID, own ID, duplicate, unknown)."""

    code = "contact"


class ContactListError(KithError):
    """A contact list (``kith contacts import``) is unreadable, too big or has bad entries.

    Attributes:
        problems: One ``"line 3: ..."`` (or ``"entry 3: ..."``) per bad entry;
            empty when the list as a whole is refused.
    """

    code = "invalid_contact_list"

    def __init__(
        self, message: str, *, problems: tuple[str, ...] = (), code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.problems = problems


class SettingError(KithError):
    """An unknown setting or an invalid setting value."""

    code = "setting"


class BackupError(KithError):
    """A backup file could not be written or read back."""

    code = "backup"
