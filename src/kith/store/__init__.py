"""The encrypted local database: connection, migrations, repositories, async facade.

``AsyncStore`` is imported lazily so the CLI does not pay for asyncio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kith.store.contacts import ContactRepository
from kith.store.identity import IdentityRepository
from kith.store.migrations import LATEST_VERSION, migrate, schema_version
from kith.store.settings import SettingsRepository
from kith.store.store import Store

if TYPE_CHECKING:
    from kith.store.async_store import AsyncStore

__all__ = [
    "LATEST_VERSION",
    "AsyncStore",
    "ContactRepository",
    "IdentityRepository",
    "SettingsRepository",
    "Store",
    "migrate",
    "schema_version",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncStore":
        from kith.store.async_store import AsyncStore

        return AsyncStore
    raise AttributeError(name)
