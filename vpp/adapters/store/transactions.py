"""Short transactions on the store, and the one place where database errors become vpp's.

Writes retry a whole transaction on write conflicts (TiDB 9007, MySQL deadlock / lock
wait, SQLite busy); nothing half-written survives an attempt.  Every read and write goes
through :func:`reading` / :func:`writing`, so no SQLAlchemy or driver exception leaves
``vpp.adapters.store``: a refused unique key is
:class:`~vpp.application.ports.StoreConflict`, a server that is down or a lost connection is
:class:`~vpp.application.ports.StoreUnavailable`, anything else
:class:`~vpp.application.ports.StoreError` (the original is chained as ``__cause__``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)

from vpp.application.ports import StoreConflict, StoreError, StoreUnavailable

T = TypeVar("T")

RETRYABLE_MYSQL = {1205, 1213, 8002, 8022, 8028, 9007}
#: MySQL client errors of a server that is not there (refused, gone, lost, timed out)
UNAVAILABLE_MYSQL = {2002, 2003, 2006, 2013, 2055, 1040, 1053}


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRYABLE_MYSQL:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def translate(exc: SQLAlchemyError) -> StoreError:
    """The vpp error for a database error (raise it ``from exc``)."""
    code = None
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        args = getattr(exc.orig, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
    if isinstance(exc, IntegrityError):
        return StoreConflict(f"store refused the write: {exc.orig}")
    if isinstance(exc, DisconnectionError) or (
        isinstance(exc, DBAPIError) and (exc.connection_invalidated or code in UNAVAILABLE_MYSQL)
    ):
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        return StoreUnavailable(f"store unavailable: {cause}")
    if isinstance(exc, OperationalError) and code is None:  # SQLite: unopenable file, I/O
        return StoreUnavailable(f"store unavailable: {exc.orig}")
    return StoreError(f"store error: {type(exc).__name__}: {exc}")


def with_retry(fn: Callable[[], T], attempts: int = 8, base_delay: float = 0.02) -> T:
    """Run ``fn`` (one whole transaction) again on write conflicts; translate the rest."""
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_retryable(exc):
                raise translate(exc) from exc
            time.sleep(base_delay * (2**attempt) * (0.5 + random.random()))
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
    raise AssertionError("unreachable")


def writing(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """``fn(con)`` in one transaction, committed, retried on write conflicts."""

    def attempt() -> T:
        with engine.begin() as con:
            return fn(con)

    return with_retry(attempt)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads; database errors leave it as vpp's store errors."""
    try:
        with engine.connect() as con:
            yield con
    except SQLAlchemyError as exc:
        raise translate(exc) from exc
