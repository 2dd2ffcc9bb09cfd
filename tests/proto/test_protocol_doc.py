"""docs/protocol.md is normative: it and the code name the same messages,
error codes and close codes."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from kith_proto import wire

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else None]


def code_message_types() -> set[str]:
    members = typing.get_args(wire.ClientMessage) + typing.get_args(wire.ServerMessage)
    return {str(member.__struct_config__.tag) for member in members}


def test_every_message_type_is_documented_and_vice_versa() -> None:
    documented = set(re.findall(r"^### `(\w+)`$", DOC, re.MULTILINE))
    assert documented == code_message_types()


def test_every_error_code_is_documented_and_vice_versa() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", section("6. Error codes"), re.MULTILINE))
    assert documented == {code.value for code in wire.ErrorCode}


def test_every_close_code_is_documented_and_vice_versa() -> None:
    documented = {int(c) for c in re.findall(r"^\| (\d{4}) \|", section("7. Close codes"), re.M)}
    assert documented == {int(code) for code in wire.CloseCode}


def test_documented_subprotocol_and_statement_prefix_match_the_code() -> None:
    from kith_proto.auth import AUTH_DOMAIN

    assert f"`{wire.SUBPROTOCOL}`" in DOC
    assert f'"{AUTH_DOMAIN[:-1].decode()}" 0x00' in DOC
