"""The byte limits where the CLI sets them without a node running: the
database backend over a real (SQLCipher) data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.account import create_account, open_store
from kith.backend import Backend
from kith.datadir import DataDir
from kith.direct import DirectBackend
from kith.errors import KithError, SettingError
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase

SECRET = FixedPassphrase("presence limits passphrase")


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")
    data_dir = DataDir(tmp_path)
    create_account(data_dir, name="alice", protection=Protection.PASSPHRASE, passphrases=SECRET)
    opened: Backend = DirectBackend(open_store(data_dir, SECRET), clock=lambda: 42.0)
    yield opened
    opened.close()


def test_a_status_text_of_200_bytes_is_stored(backend: Backend) -> None:
    assert backend.set_status("busy", "é" * 100).text == "é" * 100


def test_a_status_text_over_200_bytes_is_refused_and_nothing_changes(backend: Backend) -> None:
    backend.set_status("away", "lunch")
    with pytest.raises(SettingError, match="200 bytes of UTF-8"):
        backend.set_status("busy", "中" * 67)
    assert (backend.status().status, backend.status().text) == ("away", "lunch")


def test_the_status_text_setting_refuses_over_200_bytes(backend: Backend) -> None:
    assert backend.set_setting("status_text", "中" * 66).value == "中" * 66
    with pytest.raises(SettingError, match="200 bytes of UTF-8"):
        backend.set_setting("status_text", "😀" * 51)


def test_a_display_name_of_96_bytes_is_stored(backend: Backend) -> None:
    assert backend.set_name("中" * 32).name == "中" * 32


def test_a_display_name_over_96_bytes_is_refused_and_kept(backend: Backend) -> None:
    with pytest.raises(KithError, match="at most 96") as err:
        backend.set_name("中" * 33)
    assert err.value.code == "invalid_name"
    assert backend.identity().name == "alice"
