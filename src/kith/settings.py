"""The registry of known settings (pure: no I/O).

Each setting has a type, a default, bounds and a validator. Values come in two
forms: text typed by a user (``parse``) and JSON values read back from the store
or a backup (``validate``). Both return the canonical value or raise
:class:`~kith.errors.SettingError` naming what is allowed. Every value is
bounded (numbers by a range, text and URLs by length, lists by their number of
entries), so no accepted value can overflow what the node does with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kith.errors import SettingError
from kith.terminal_text import first_unsafe
from kith_proto.envelope import MAX_STATUS_TEXT, MAX_STATUS_TEXT_BYTES
from kith_proto.ids import InvalidIdError, format_id, parse_id
from kith_proto.wire import DEFAULT_SIGNAL_PORT

__all__ = [
    "MAX_AUTO_AWAY_MINUTES",
    "MAX_ID_LIST_ENTRIES",
    "MAX_LIST_ENTRIES",
    "MAX_URL_LENGTH",
    "SETTINGS",
    "BoolSetting",
    "ChoiceSetting",
    "IdListSetting",
    "IntSetting",
    "Setting",
    "SettingValue",
    "TextSetting",
    "UrlListSetting",
    "UrlsSetting",
    "definition",
    "format_value",
]

SettingValue = str | int | bool | list[str]

_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
#: The longest URL any URL setting accepts.
MAX_URL_LENGTH: Final = 2048
#: The most entries a list setting accepts.
MAX_LIST_ENTRIES: Final = 16
#: The most Kith IDs an ID list setting (such as ``muted_contacts``) accepts.
MAX_ID_LIST_ENTRIES: Final = 1000
#: One week: the largest ``auto_away_minutes``.
MAX_AUTO_AWAY_MINUTES: Final = 7 * 24 * 60


def _invalid(key: str, value: object, allowed: str) -> SettingError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return SettingError(f"invalid value {shown} for {key}: allowed {allowed}", code="invalid_value")


@dataclass(frozen=True)
class Setting:
    """Base of all setting definitions."""

    key: str
    help: str

    @property
    def default(self) -> SettingValue:
        raise NotImplementedError

    @property
    def allowed(self) -> str:
        """Human description of the allowed values."""
        raise NotImplementedError

    def parse(self, text: str) -> SettingValue:
        """Turn user-typed text into a valid value."""
        return self.validate(text)

    def validate(self, value: object) -> SettingValue:
        """Check a JSON value and return it in canonical form."""
        raise NotImplementedError


@dataclass(frozen=True)
class ChoiceSetting(Setting):
    """One of a fixed set of words."""

    choices: tuple[str, ...]
    default_choice: str

    @property
    def default(self) -> SettingValue:
        return self.default_choice

    @property
    def allowed(self) -> str:
        return "one of " + ", ".join(self.choices)

    def validate(self, value: object) -> SettingValue:
        if isinstance(value, str) and value.strip().lower() in self.choices:
            return value.strip().lower()
        raise _invalid(self.key, value, self.allowed)


@dataclass(frozen=True)
class TextSetting(Setting):
    """Free text up to ``max_length`` characters (and ``max_bytes`` bytes of
    UTF-8 when set), one line, no control or bidi characters."""

    max_length: int
    default_text: str = ""
    max_bytes: int | None = None

    @property
    def default(self) -> SettingValue:
        return self.default_text

    @property
    def allowed(self) -> str:
        size = "" if self.max_bytes is None else f" and {self.max_bytes} bytes of UTF-8"
        return (
            f"text of at most {self.max_length} characters{size} on one line, "
            "without control characters or bidi controls"
        )

    def validate(self, value: object) -> SettingValue:
        if (
            isinstance(value, str)
            and len(value) <= self.max_length
            and first_unsafe(value) is None
            and (
                self.max_bytes is None
                or len(value.encode("utf-8", "surrogatepass")) <= self.max_bytes
            )
        ):
            return value
        raise _invalid(self.key, value, self.allowed)


def _has_scheme(text: str, schemes: tuple[str, ...]) -> bool:
    if len(text) > MAX_URL_LENGTH or not text.isprintable():
        return False
    for scheme in schemes:
        prefix = scheme + ":" if scheme.startswith("stun") else scheme + "://"
        if text.startswith(prefix) and len(text) > len(prefix) and " " not in text:
            return True
    return False


def _scheme_list(schemes: tuple[str, ...]) -> str:
    return " or ".join(s + ":" if s.startswith("stun") else s + "://" for s in schemes)


@dataclass(frozen=True)
class UrlsSetting(Setting):
    """One URL with one of the given schemes, or several separated by spaces
    (the processes of a cluster); kept as text, one space between URLs, each
    URL once. A bad one is named in the error."""

    schemes: tuple[str, ...]
    default_url: str

    @property
    def default(self) -> SettingValue:
        return self.default_url

    @property
    def allowed(self) -> str:
        return (
            f"a URL starting with {_scheme_list(self.schemes)} "
            f"(at most {MAX_URL_LENGTH} characters), or up to {MAX_LIST_ENTRIES} "
            "such URLs separated by spaces"
        )

    def validate(self, value: object) -> SettingValue:
        if not isinstance(value, str) or len(value) > (MAX_URL_LENGTH + 1) * MAX_LIST_ENTRIES:
            raise _invalid(self.key, value, self.allowed)
        urls = list(dict.fromkeys(value.split()))
        if not urls or len(urls) > MAX_LIST_ENTRIES:
            raise _invalid(self.key, value, self.allowed)
        for url in urls:
            if not _has_scheme(url, self.schemes):
                raise _invalid(self.key, url, self.allowed)
        return " ".join(urls)


@dataclass(frozen=True)
class UrlListSetting(Setting):
    """A list of URLs with one of the given schemes; typed comma-separated."""

    schemes: tuple[str, ...]

    @property
    def default(self) -> SettingValue:
        return []

    @property
    def allowed(self) -> str:
        return (
            f"a comma-separated list of at most {MAX_LIST_ENTRIES} URLs starting with "
            f"{_scheme_list(self.schemes)} (each at most {MAX_URL_LENGTH} characters)"
        )

    def parse(self, text: str) -> SettingValue:
        if len(text) > (MAX_URL_LENGTH + 1) * MAX_LIST_ENTRIES:
            raise _invalid(self.key, text, self.allowed)
        return self.validate([part.strip() for part in text.split(",") if part.strip()])

    def validate(self, value: object) -> SettingValue:
        if (
            isinstance(value, list)
            and len(value) <= MAX_LIST_ENTRIES
            and all(isinstance(v, str) and _has_scheme(v, self.schemes) for v in value)
        ):
            return [str(v) for v in value]
        raise _invalid(self.key, value, self.allowed)


@dataclass(frozen=True)
class IdListSetting(Setting):
    """Comma-separated Kith IDs (any case, spaces and dashes ignored), stored canonical."""

    @property
    def default(self) -> SettingValue:
        return []

    @property
    def allowed(self) -> str:
        return f"up to {MAX_ID_LIST_ENTRIES} Kith IDs separated by commas"

    def parse(self, text: str) -> SettingValue:
        if len(text) > 80 * MAX_ID_LIST_ENTRIES:
            raise _invalid(self.key, text, self.allowed)
        return self.validate([part for part in text.split(",") if part.strip()])

    def validate(self, value: object) -> SettingValue:
        if not isinstance(value, list) or len(value) > MAX_ID_LIST_ENTRIES:
            raise _invalid(self.key, value, self.allowed)
        ids: list[str] = []
        for item in value:
            try:
                canonical = format_id(parse_id(item)) if isinstance(item, str) else None
            except InvalidIdError:
                canonical = None
            if canonical is None:
                raise _invalid(self.key, item, self.allowed)
            if canonical not in ids:
                ids.append(canonical)
        return ids


@dataclass(frozen=True)
class IntSetting(Setting):
    """A whole number from ``minimum`` to ``maximum``."""

    minimum: int
    maximum: int
    default_int: int

    @property
    def default(self) -> SettingValue:
        return self.default_int

    @property
    def allowed(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}"

    def parse(self, text: str) -> SettingValue:
        digits = text.strip()
        if len(digits) > len(str(self.maximum)) + 1:  # far out of range: do not parse it
            raise _invalid(self.key, text, self.allowed)
        try:
            number = int(digits)
        except ValueError:
            raise _invalid(self.key, text, self.allowed) from None
        return self.validate(number)

    def validate(self, value: object) -> SettingValue:
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.minimum <= value <= self.maximum
        ):
            return value
        raise _invalid(self.key, value, self.allowed)


@dataclass(frozen=True)
class BoolSetting(Setting):
    """A yes/no switch; typed as true/false, yes/no, on/off or 1/0."""

    default_bool: bool

    @property
    def default(self) -> SettingValue:
        return self.default_bool

    @property
    def allowed(self) -> str:
        return "true or false (also yes/no, on/off, 1/0)"

    def parse(self, text: str) -> SettingValue:
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _invalid(self.key, text, self.allowed)

    def validate(self, value: object) -> SettingValue:
        if isinstance(value, bool):
            return value
        raise _invalid(self.key, value, self.allowed)


_DEFINITIONS: Final[tuple[Setting, ...]] = (
    ChoiceSetting(
        "user_status",
        "your status as contacts see it (invisible shows you as offline)",
        choices=("online", "away", "busy", "invisible"),
        default_choice="online",
    ),
    TextSetting(
        "status_text",
        "a short message shown with your status",
        max_length=MAX_STATUS_TEXT,
        max_bytes=MAX_STATUS_TEXT_BYTES,
    ),
    UrlsSetting(
        "signaling_url",
        "the signaling server to connect to; several separated by spaces (the processes "
        "of one cluster) are tried in random order",
        schemes=("ws", "wss"),
        default_url=f"ws://127.0.0.1:{DEFAULT_SIGNAL_PORT}",
    ),
    IntSetting(
        "auto_away_minutes",
        "minutes of inactivity before going away automatically (0 disables)",
        minimum=0,
        maximum=MAX_AUTO_AWAY_MINUTES,
        default_int=10,
    ),
    UrlListSetting("stun_servers", "STUN servers for NAT traversal", schemes=("stun", "stuns")),
    BoolSetting("notifications", "show desktop notifications", default_bool=True),
    BoolSetting(
        "notifications_private", "notifications name the sender but show no message text", False
    ),
    IdListSetting("muted_contacts", "contacts whose messages never show a notification"),
    BoolSetting("read_receipts", "tell contacts when you have read their messages", False),
    IntSetting(
        "ui_port",
        "port of the web UI on 127.0.0.1, kept across restarts (0: a free one, chosen at the "
        "next kith run and kept; when taken, a free one for that run); from the next kith run",
        minimum=0,
        maximum=65535,
        default_int=0,
    ),
    BoolSetting(
        "relay_only",
        "connect to contacts only through the server's TURN relay, so they never learn "
        "your IP address (applies from the next kith run)",
        False,
    ),
)

SETTINGS: Final[Mapping[str, Setting]] = {s.key: s for s in _DEFINITIONS}


def definition(key: str) -> Setting:
    """Return the definition of ``key`` or raise SettingError naming the known keys."""
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(SETTINGS)
        raise SettingError(
            f"unknown setting {key!r}: known settings are {known}", code="unknown_setting"
        ) from None


def format_value(value: SettingValue) -> str:
    """Render a value the way a user would type it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)
