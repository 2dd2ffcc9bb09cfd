"""The package's lazy public API."""

from __future__ import annotations

import importlib

import pytest

import kith_proto


@pytest.mark.parametrize("name", kith_proto.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(kith_proto, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = kith_proto.no_such_name


def test_public_names_come_from_their_submodule() -> None:
    keys = importlib.import_module("kith_proto.keys")
    assert kith_proto.IdentityKeys is keys.IdentityKeys
