"""Operator API tests: the real app over the real store (SQLite and MariaDB).

``world`` is a store with two tenants (``t-a``, ``t-b``), each with one plant of DERs,
and keys with every scope combination the tests need.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.api_world import World, make_world
from tests.harness.mariadb import MariaDbServer


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    with make_world(db_url) as w:
        yield w


@pytest.fixture
def ci_world(mariadb: MariaDbServer) -> Iterator[World]:
    """A MariaDB database with the server's usual case-insensitive collation (the harness
    default is utf8mb4_bin), where 'PLANT-A' and 'plant-a' are the same key."""
    name = "vpp_api_ci"
    with mariadb.connect() as con, con.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    try:
        with make_world(mariadb.url(name)) as w:
            yield w
    finally:
        mariadb.drop_database(name)
