"""Which asyncio event loop ``kith-signal`` and ``kith run`` run on.

``uvloop`` (libuv under asyncio's interface) costs less CPU per delivery
(and per message a node sends or receives) than the standard loop; it is
not available on Windows. ``auto`` takes it
when it can be imported and falls back to the standard loop otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["LOOP_CHOICES", "LoopChoice", "LoopUnavailableError", "choose_loop"]

LOOP_CHOICES: Final = ("auto", "asyncio", "uvloop")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class LoopUnavailableError(Exception):
    """The loop asked for cannot be used here (its package is not installed)."""


@dataclass(frozen=True)
class LoopChoice:
    """The loop to run on.

    Attributes:
        name: ``asyncio`` or ``uvloop``: what runs, for the log.
        factory: Makes the loop; ``None`` for the standard one.
    """

    name: str
    factory: LoopFactory | None


def choose_loop(wanted: str, importer: Callable[[str], object] | None = None) -> LoopChoice:
    """The loop for ``wanted`` (one of :data:`LOOP_CHOICES`).

    Args:
        wanted: ``asyncio``, ``uvloop`` or ``auto`` (uvloop when importable).
        importer: Imports a module by name (``importlib.import_module``);
            tests pass one that fails.

    Raises:
        LoopUnavailableError: ``uvloop`` was asked for and cannot be imported.
        ValueError: ``wanted`` is not one of the choices.
    """
    if wanted not in LOOP_CHOICES:
        raise ValueError(f"unknown event loop {wanted!r}: choose one of {', '.join(LOOP_CHOICES)}")
    if wanted == "asyncio":
        return LoopChoice("asyncio", None)
    factory = _uvloop_factory(importer or importlib.import_module)
    if factory is not None:
        return LoopChoice("uvloop", factory)
    if wanted == "uvloop":
        raise LoopUnavailableError(
            "--loop uvloop: uvloop is not installed (pip install uvloop; not on Windows)"
        )
    return LoopChoice("asyncio", None)


def _uvloop_factory(importer: Callable[[str], object]) -> LoopFactory | None:
    try:
        module = importer("uvloop")
    except ImportError:
        return None
    factory: LoopFactory = module.new_event_loop  # type: ignore[attr-defined]
    return factory
