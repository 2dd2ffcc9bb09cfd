"""Choosing the event loop of kith-signal and kith run (pure: no loop is started)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from kith_proto.event_loop import LoopUnavailableError, choose_loop

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def no_uvloop(name: str) -> object:
    raise ImportError(f"No module named {name!r}")


def test_asyncio_is_the_standard_loop() -> None:
    choice = choose_loop("asyncio")
    assert (choice.name, choice.factory) == ("asyncio", None)


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed here")
def test_auto_takes_uvloop_when_it_imports() -> None:
    choice = choose_loop("auto")
    assert choice.name == "uvloop"
    assert choice.factory is not None
    loop = choice.factory()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_auto_falls_back_to_asyncio_without_uvloop() -> None:
    assert choose_loop("auto", importer=no_uvloop) == choose_loop("asyncio")


def test_uvloop_asked_for_but_missing_is_a_clear_error() -> None:
    with pytest.raises(LoopUnavailableError, match="uvloop is not installed"):
        choose_loop("uvloop", importer=no_uvloop)


def test_unknown_loop_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of auto, asyncio, uvloop"):
        choose_loop("trio")
