"""The encrypted local database: connection, migrations, repositories, async facade."""

from kith.store.async_store import AsyncStore
from kith.store.contacts import ContactRepository
from kith.store.identity import IdentityRepository
from kith.store.migrations import LATEST_VERSION, migrate, schema_version
from kith.store.settings import SettingsRepository
from kith.store.store import Store

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
