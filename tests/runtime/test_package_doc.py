"""The runtime package's docstring names every module and sub-package in it,
so ``kith.runtime`` read alone is a true map of the node's runtime."""

from __future__ import annotations

import pkgutil

import kith.runtime


def test_every_runtime_module_is_named_in_the_package_docstring() -> None:
    doc = kith.runtime.__doc__ or ""
    names = [m.name for m in pkgutil.iter_modules(kith.runtime.__path__)]
    assert len(names) >= 10
    missing = [n for n in names if f":mod:`kith.runtime.{n}`" not in doc]
    assert missing == []
