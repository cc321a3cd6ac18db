"""Retry a short transaction on write conflicts (TiDB 9007, MySQL deadlock / lock wait,
SQLite busy).  Each attempt is a whole transaction; nothing half-written survives."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

T = TypeVar("T")

RETRYABLE_MYSQL = {1205, 1213, 8002, 8022, 8028, 9007}


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRYABLE_MYSQL:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def with_retry(fn: Callable[[], T], attempts: int = 8, base_delay: float = 0.02) -> T:
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise
            time.sleep(base_delay * (2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")
