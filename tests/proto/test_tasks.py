"""cancel_and_wait: the stopped task's outcome is dropped, the caller's own
cancellation is not."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from kith_proto.tasks import cancel_and_wait

WAIT = 5.0


async def _slow_to_stop(stopping: asyncio.Event, release: asyncio.Event) -> None:
    """A task whose cancellation takes a while (as a network read's does)."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        stopping.set()
        await release.wait()
        raise


async def _loop_that_stops_a_helper(
    pattern: str, stopping: asyncio.Event, release: asyncio.Event, rounds: list[int]
) -> None:
    """A supervising loop (three rounds at most): each round starts a helper and stops it."""
    for _ in range(3):
        rounds.append(1)
        helper = asyncio.create_task(_slow_to_stop(stopping, release))
        await asyncio.sleep(0)
        if pattern == "cancel_and_wait":
            await cancel_and_wait(helper)
        else:  # the pattern it replaces
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await helper


@pytest.mark.parametrize(("pattern", "stops"), [("cancel_and_wait", True), ("suppress", False)])
async def test_a_loop_cancelled_while_it_stops_a_helper_stops(pattern: str, stops: bool) -> None:
    stopping, release = asyncio.Event(), asyncio.Event()
    rounds: list[int] = []
    loop = asyncio.create_task(_loop_that_stops_a_helper(pattern, stopping, release, rounds))
    async with asyncio.timeout(WAIT):
        await stopping.wait()  # the loop waits for its helper to stop...
    loop.cancel()  # ...when the loop itself is asked to stop
    release.set()
    async with asyncio.timeout(WAIT):
        await asyncio.wait({loop})
    assert loop.cancelled() is stops
    assert len(rounds) == (1 if stops else 3)  # the old pattern swallowed the cancel, went on


async def test_the_outcome_of_the_stopped_task_is_dropped() -> None:
    async def fails_when_stopped() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise OSError("connection reset") from None

    failing = asyncio.create_task(fails_when_stopped())
    await asyncio.sleep(0)
    await cancel_and_wait(failing)  # does not raise the task's OSError
    assert isinstance(failing.exception(), OSError)

    finished = asyncio.create_task(asyncio.sleep(0, result=7))
    await finished
    await cancel_and_wait(finished)  # an ended task: nothing to do
    assert finished.result() == 7
