"""Rate limits per API key: one token bucket per key, on an injected monotonic clock.

A bucket holds at most ``burst`` tokens and gains ``rate_per_s`` of them each second; a
request takes one.  An empty bucket refuses with the time until its next token, which the
API sends as ``Retry-After``.  A bucket that has refilled completely is the same as no
bucket, so the limiter forgets the least recently used ones beyond ``max_keys``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from vpp.application.use_case_errors import RateLimited
from vpp.domain.errors import InvalidValue


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate_per_s`` requests per second on average, ``burst`` at once."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0 or self.rate_per_s == float("inf"):
            raise InvalidValue(f"rate_per_s must be positive and finite, got {self.rate_per_s}")
        if self.burst < 1:
            raise InvalidValue(f"burst must be at least 1, got {self.burst}")


@dataclass(slots=True)
class TokenBucket:
    """Tokens left at ``updated`` (a reading of the limiter's clock)."""

    tokens: float
    updated: float

    def take(self, limit: RateLimit, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there is."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(limit.burst), self.tokens + elapsed * limit.rate_per_s)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / limit.rate_per_s


class RateLimiter:
    """A token bucket per key under one :class:`RateLimit`; thread-safe."""

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """One request of ``key``: 0.0 if allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(float(self.limit.burst), now)
                while len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            return bucket.take(self.limit, now)

    def check(self, key: str) -> None:
        """Take a token for ``key`` or raise :class:`RateLimited` with the wait."""
        wait = self.take(key)
        if wait > 0.0:
            raise RateLimited(key, wait)
