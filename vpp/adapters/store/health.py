"""Is the store there?  A cheap probe for ``/readyz`` (the API's, and any process's)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from vpp.adapters.store.transactions import reading
from vpp.application.ports import StoreError

#: a probe's answer is reused this long: a scrape every second costs one query per 2 s
FRESH_S = 2.0


class StoreProbe:
    """``reason()``: ``None`` when ``SELECT 1`` on the store works, else why not.

    The answer is cached for ``fresh_s``; concurrent callers share one probe (a lock), so
    a store that hangs costs one connect timeout, not one per request.  Called from the
    ops endpoint's threads and the API's thread pool, never from an event loop."""

    def __init__(
        self,
        engine: Engine,
        *,
        fresh_s: float = FRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.fresh_s = fresh_s
        self.clock = clock
        self._lock = threading.Lock()
        self._at: float | None = None
        self._reason: str | None = None

    def reason(self) -> str | None:
        with self._lock:
            now = self.clock()
            if self._at is not None and now - self._at < self.fresh_s:
                return self._reason
            self._reason = self._probe()
            self._at = self.clock()
            return self._reason

    def _probe(self) -> str | None:
        try:
            with reading(self.engine) as con:
                con.execute(text("SELECT 1")).scalar_one()
        except StoreError as exc:
            return str(exc)
        return None
