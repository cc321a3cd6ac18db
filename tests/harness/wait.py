"""The one way a test waits for something: poll a condition until it holds or time is up.

Both helpers return the seconds it took and raise :class:`AssertionError` (so a test that
waits fails like an ``assert``) when the condition still does not hold at the deadline.
The last sleep is cut short so that the condition is checked once more at the deadline
itself: a bound of ``timeout_s`` is neither loosened nor shortened by the polling step.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

#: how often a condition is polled unless the caller says otherwise (s)
DEFAULT_STEP_S = 0.05


def wait_until(
    condition: Callable[[], object],
    timeout_s: float,
    step_s: float = DEFAULT_STEP_S,
    *,
    what: str | Callable[[], str] = "condition not met",
) -> float:
    """Seconds until ``condition()`` was true, polling every ``step_s``; blocks the thread.
    ``what`` says in the failure what did not happen (a callable: what was seen last)."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while not condition():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(_failure(what, timeout_s))
        time.sleep(min(step_s, remaining))
    return time.monotonic() - t0


async def async_wait_until(
    condition: Callable[[], object | Awaitable[object]],
    timeout_s: float,
    step_s: float = DEFAULT_STEP_S,
    *,
    in_thread: bool = False,
    what: str | Callable[[], str] = "condition not met",
) -> float:
    """:func:`wait_until` for the event loop: ``condition`` may be a coroutine function;
    ``in_thread`` runs a blocking one (a database query, say) off the loop."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while not await _check(condition, in_thread):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(_failure(what, timeout_s))
        await asyncio.sleep(min(step_s, remaining))
    return time.monotonic() - t0


async def _check(condition: Callable[[], object | Awaitable[object]], in_thread: bool) -> bool:
    result = await asyncio.to_thread(condition) if in_thread else condition()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


def _failure(what: str | Callable[[], str], timeout_s: float) -> str:
    return f"{what() if callable(what) else what} within {timeout_s} s"
