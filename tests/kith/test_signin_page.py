"""The owner-only page that hands a sign-in link to the browser (real files)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from kith.signin_page import (
    PAGE_LIFETIME,
    SIGNIN_FOLDER,
    remove_signin_pages,
    render_page,
    sweep_signin_pages,
    write_signin_page,
)

URL = "http://127.0.0.1:4242/login#code=abc-DEF_123"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_page_forwards_to_the_link() -> None:
    page = render_page(URL).decode()
    assert f'content="0;url={URL}"' in page
    assert f'href="{URL}"' in page


def test_the_link_is_escaped_in_the_page() -> None:
    page = render_page('http://127.0.0.1:1/login#code="><script>').decode()
    assert "<script>" not in page
    assert "&quot;&gt;&lt;script&gt;" in page


def test_a_page_forwards_only_to_the_local_node() -> None:
    with pytest.raises(ValueError, match="local node"):
        render_page("https://evil.example/login#code=x")


@posix_only
def test_the_page_is_owner_only_in_an_owner_only_folder(tmp_path: Path) -> None:
    page = write_signin_page(tmp_path, URL, 0.0)
    assert page.parent == tmp_path / SIGNIN_FOLDER
    assert mode(page) == 0o600
    assert mode(page.parent) == 0o700
    assert URL in page.read_text()


@posix_only
def test_a_loose_folder_is_tightened(tmp_path: Path) -> None:
    (tmp_path / SIGNIN_FOLDER).mkdir(mode=0o755)
    write_signin_page(tmp_path, URL, 0.0)
    assert mode(tmp_path / SIGNIN_FOLDER) == 0o700


def test_each_page_has_its_own_name(tmp_path: Path) -> None:
    assert write_signin_page(tmp_path, URL, 0.0) != write_signin_page(tmp_path, URL, 0.0)


def test_pages_older_than_a_code_are_swept(tmp_path: Path) -> None:
    old = write_signin_page(tmp_path, URL, 0.0)
    young = write_signin_page(tmp_path, URL, 0.0)
    written = young.stat().st_mtime
    os.utime(old, (written - PAGE_LIFETIME - 5, written - PAGE_LIFETIME - 5))
    sweep_signin_pages(tmp_path, written + 1)
    assert not old.exists()
    assert young.exists()


def test_writing_a_page_sweeps_the_expired_ones(tmp_path: Path) -> None:
    old = write_signin_page(tmp_path, URL, 0.0)
    later = old.stat().st_mtime + PAGE_LIFETIME + 1
    fresh = write_signin_page(tmp_path, URL, later)
    assert not old.exists()
    assert fresh.exists()


def test_stopping_removes_every_page_and_the_folder(tmp_path: Path) -> None:
    write_signin_page(tmp_path, URL, 0.0)
    remove_signin_pages(tmp_path)
    assert not (tmp_path / SIGNIN_FOLDER).exists()
    remove_signin_pages(tmp_path)  # nothing left: no error
