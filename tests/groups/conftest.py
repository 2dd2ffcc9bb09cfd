"""Fixtures of the group tests between real nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.group_hubs import GroupMembers, group_members


@pytest.fixture
def world_names() -> str:
    """The users of ``world`` (a module overrides it for fewer or more)."""
    return "abc"


@pytest.fixture
def world(tmp_path: Path, world_names: str) -> Iterator[ChatWorld]:
    """A real kith-signal and the data directories of mutual contacts (none started)."""
    w = ChatWorld(tmp_path, world_names)
    yield w
    w.close()


@pytest.fixture
async def members(tmp_path: Path) -> AsyncIterator[GroupMembers]:
    """Alice's, bob's and carol's group hubs, each on its own new store."""
    async with group_members(tmp_path) as made:
        yield made
