"""The account endpoints and static routes of a real ``kith run`` node, over HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith.account import unlock
from kith.backup import read_backup
from kith.datadir import DataDir
from kith.errors import WrongPassphraseError
from kith.passphrases import FixedPassphrase
from kith_testkit.node_api import http_get
from kith_testkit.nodes import NodeProcess, make_identity

pytestmark = pytest.mark.slow
OLD = "node test passphrase"  # kith_testkit.nodes.PASSPHRASE


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    path = tmp_path_factory.mktemp("account") / "alice"
    make_identity(path, "alice", "ws://127.0.0.1:9")  # no server needed
    process = NodeProcess(path)
    yield process
    process.stop()


def post(node: NodeProcess, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    info = node.info
    conn = http.client.HTTPConnection(info.host, info.port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {info.token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        conn.request("POST", path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_backup_download_is_a_backup_of_this_identity(node: NodeProcess, tmp_path: Path) -> None:
    body_in = {"password": "backup pw", "passphrase": OLD}
    status, headers, body = post(node, "/api/account/backup", body_in)
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment;")
    saved = tmp_path / "b.kithbackup"
    saved.write_bytes(body)
    payload = read_backup(saved, "backup pw")
    assert payload.name == "alice"


def test_backup_needs_a_password(node: NodeProcess) -> None:
    status, _, body = post(node, "/api/account/backup", {"password": ""})
    assert status == 400
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_backup_refuses_a_wrong_database_passphrase(node: NodeProcess) -> None:
    status, _, body = post(node, "/api/account/backup", {"password": "pw", "passphrase": "nope"})
    assert status == 400
    assert json.loads(body)["error"]["code"] == "wrong_passphrase"


def test_backup_needs_the_database_passphrase(node: NodeProcess) -> None:
    status, _, body = post(node, "/api/account/backup", {"password": "pw", "confirm": True})
    assert status == 400
    assert "passphrase" in json.loads(body)["error"]["message"]


def test_account_reports_passphrase_protection(node: NodeProcess) -> None:
    bearer = {"Authorization": f"Bearer {node.info.token}"}
    status, _, body = http_get(node.info, "/api/account", bearer)
    assert status == 200
    assert json.loads(body) == {"protection": "passphrase"}


def test_passphrase_change_refuses_a_wrong_old_one(node: NodeProcess) -> None:
    status, _, body = post(node, "/api/account/passphrase", {"old": "nope", "new": "x"})
    assert status == 400
    assert json.loads(body)["error"]["code"] == "wrong_passphrase"
    assert unlock(DataDir(node.data_dir), FixedPassphrase(OLD))


def test_passphrase_change_rewraps_the_key(node: NodeProcess) -> None:
    new = "a brand new passphrase"
    assert post(node, "/api/account/passphrase", {"old": OLD, "new": new})[0] == 204
    assert unlock(DataDir(node.data_dir), FixedPassphrase(new))
    with pytest.raises(WrongPassphraseError):
        unlock(DataDir(node.data_dir), FixedPassphrase(OLD))
    assert post(node, "/api/account/passphrase", {"old": new, "new": OLD})[0] == 204


def test_qr_code_is_an_svg(node: NodeProcess) -> None:
    bearer = {"Authorization": f"Bearer {node.info.token}"}
    status, headers, body = http_get(node.info, "/api/identity/qr.svg", bearer)
    assert status == 200
    assert headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in body


def test_activity_is_accepted(node: NodeProcess) -> None:
    assert post(node, "/api/activity")[0] == 204


def test_static_files_do_not_escape_their_folder(node: NodeProcess) -> None:
    bearer = {"Authorization": f"Bearer {node.info.token}"}
    for path in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/js/../../routes.py"):
        assert http_get(node.info, path, bearer)[0] in (403, 404)
    status, headers, _ = http_get(node.info, "/static/js/main.js", bearer)
    assert status == 200
    assert "javascript" in headers["Content-Type"]
