"""Rows rendered as SQL literals must reach MariaDB exactly as the driver would send them:
every string escaped (quotes, backslashes, NUL, unicode, in both backslash modes), every
float bit for bit, timestamps to the microsecond."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
)

from vpp.adapters.store import mysql_values
from vpp.adapters.store.schema import Double
from vpp.adapters.store.types import UtcDateTime
from vpp.adapters.store.upsert import insert_new_rows

meta = MetaData()
probe = Table(
    "literal_probe",
    meta,
    Column("k", Integer, primary_key=True, autoincrement=False),
    Column("s", String(200)),
    Column("f", Double),
    Column("b", Boolean),
    Column("ts", UtcDateTime()),
)
COLUMNS = ("k", "s", "f", "b", "ts")

NASTY = [
    "it's",
    'say "hi"',
    "back\\slash",
    "\\'; DROP TABLE literal_probe; --",
    "nul\x00byte",
    "tab\tnew\nline\rret",
    "100% _like_",
    "ünïcødé ⚡ 电",
    "\x1a ctrl-z",
    "",
]


def test_render_row_refuses_what_it_cannot_render() -> None:
    lit = "'{}'".format
    assert mysql_values.render_row((1, None, True, 2.5), lit) == "(1,NULL,1,2.5e0)"
    with pytest.raises(ValueError):
        mysql_values.render_row((math.inf,), lit)
    with pytest.raises(TypeError):
        mysql_values.render_row((b"bytes",), lit)
    with pytest.raises(TypeError):
        mysql_values.render_row((datetime.now(UTC),), lit)  # aware: not bound yet
    assert mysql_values.split_insert("INSERT INTO t (a) VALUES (%s) ON DUPLICATE x", 2) is None


def _both_ways(mysql_url: str, rows: list[tuple[object, ...]], sql_mode: str = "") -> tuple:
    """The rows inserted by the rendered path and by the driver's own executemany."""
    engine = create_engine(mysql_url)
    meta.create_all(engine)
    try:
        with engine.begin() as con:
            if sql_mode:
                con.exec_driver_sql(f"SET SESSION sql_mode = '{sql_mode}'")
            con.exec_driver_sql("SELECT 1")  # the reply carries the server's escaping mode
            insert_new_rows(con, probe, COLUMNS, rows)
        with engine.connect() as con:
            rendered = [tuple(r) for r in con.execute(select(probe).order_by(probe.c.k))]
            con.execute(probe.delete())
            con.commit()
        with engine.begin() as con:  # the driver's path: SQLAlchemy binds, PyMySQL escapes
            if sql_mode:
                con.exec_driver_sql(f"SET SESSION sql_mode = '{sql_mode}'")
            con.execute(probe.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
        with engine.connect() as con:
            driver = [tuple(r) for r in con.execute(select(probe).order_by(probe.c.k))]
        return rendered, driver
    finally:
        meta.drop_all(engine)
        engine.dispose()


@pytest.mark.parametrize("sql_mode", ["", "NO_BACKSLASH_ESCAPES"])
def test_strings_floats_and_timestamps_reach_mariadb_as_the_driver_sends_them(
    mysql_url: str, sql_mode: str
) -> None:
    floats = [0.1, -0.0, 1e-300, 1.7976931348623157e308, 123456789.123456789, -2.5e-8]
    ts = datetime(2026, 12, 2, 1, 2, 3, 456789, tzinfo=UTC)
    rows: list[tuple[object, ...]] = [
        (i, s, floats[i % len(floats)], i % 2 == 0, ts) for i, s in enumerate([*NASTY, None], 1)
    ]
    rendered, driver = _both_ways(mysql_url, rows, sql_mode)
    assert rendered == driver
    assert [r[1] for r in rendered] == [*NASTY, None]  # and nothing was mangled
    assert {r[4] for r in rendered} == {ts}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.text(max_size=40),
            st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_text_and_float_reach_mariadb_as_the_driver_sends_them(
    mysql_url: str, values: list[tuple[str, float]]
) -> None:
    rows: list[tuple[object, ...]] = [(i, s, f, None, None) for i, (s, f) in enumerate(values, 1)]
    rendered, driver = _both_ways(mysql_url, rows)
    assert rendered == driver
    assert [r[1] for r in rendered] == [s for s, _ in values]
