"""Fuzz every operation from the OpenAPI document (schemathesis): no input yields a 500.

Every other schemathesis check runs too (status codes and content types documented,
responses matching their schemas, schema-violating input rejected) except "schema-valid
input must be accepted": the API refuses well-formed requests on purpose (an interval in
the past, ratings that contradict the DER kind, an unknown member) with a 422 problem.
``VPP_FUZZ_EXAMPLES`` raises the examples per operation for a longer run.

SQLite by default (the store adapters are covered on both backends by the other API tests);
a bounded number of examples per operation keeps this in the suite's time budget.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.harness.api_world import fresh_readings, seed_registry
from tests.harness.read_models import ReadModels
from vpp.adapters.api.app import create_app
from vpp.adapters.api.services import ApiServices
from vpp.bootstrap import build_api, ensure_tenant_key, issue_platform_key

MAX_EXAMPLES = int(os.environ.get("VPP_FUZZ_EXAMPLES", "25"))


def _rfc3339(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


# RFC 3339 timestamps across the whole datetime range with extreme offsets (±14:00), and
# many near now (where dispatch rules bite): the default generator rarely reaches either.
_OFFSETS = [
    timezone(timedelta(hours=h, minutes=m)) for h, m in ((0, 0), (14, 0), (-14, 0), (5, 30))
]
_NOW = datetime.now(UTC)
schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.datetimes(timezones=st.sampled_from(_OFFSETS)),
        st.datetimes(
            min_value=(_NOW - timedelta(days=2)).replace(tzinfo=None),
            max_value=(_NOW + timedelta(days=9)).replace(tzinfo=None),
            timezones=st.sampled_from(_OFFSETS),
        ),
    ).map(_rfc3339)
    | st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:10:00Z",
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:00Z",
        ]
    ),
)


@pytest.fixture(scope="module")
def fuzz_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite; ``VPP_FUZZ_BACKEND=mysql`` fuzzes against the private MariaDB instead."""
    if os.environ.get("VPP_FUZZ_BACKEND") == "mysql":
        return str(request.getfixturevalue("mariadb").create_database("vpp_fuzz"))
    return f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'vpp.sqlite'}"


#: Ids that exist for the fuzzing key's tenant: half the cases use them as path parameters,
#: so the fuzz reaches past "not found" into each operation's own logic.
KNOWN_IDS = {
    "plant_id": "plant-a",
    "der_id": "bat-a1",
    "site_id": "site-a",
    "gateway_id": "gw-site-a",
}


#: operations fuzzed with the platform key (past its 403 for a tenant key)
PLATFORM_PATHS = {"/v1/admin/tenants"}


@pytest.fixture(scope="module")
def fuzz_app(fuzz_db_url: str) -> Iterator[tuple[FastAPI, str, str]]:
    db_url = fuzz_db_url
    app = build_api(db_url)
    seed_registry(db_url)
    store = ReadModels.from_url(db_url)
    store.writer.record_readings(fresh_readings())
    store.close()
    key = ensure_tenant_key(db_url, "t-a", upgrade=False)
    start = _rfc3339(datetime.now(UTC) + timedelta(minutes=10))
    with TestClient(app) as client:
        created = client.post(
            "/v1/plants/plant-a/dispatches",
            json={
                "mode": "absolute",
                "intervals": [{"start": start, "duration": "PT15M", "p_kw": 5}],
            },
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "fuzz-seed"},
        )
    KNOWN_IDS["dispatch_id"] = created.json()["dispatch_id"]
    yield app, key, issue_platform_key(db_url, upgrade=False)
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[FastAPI, str, str]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app[0])


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document (built without a store)."""
    paths = create_app(cast(ApiServices, None)).openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_input_yields_a_server_error(
    method: str, path: str, api_schema: schemathesis.BaseSchema, fuzz_app: tuple[FastAPI, str, str]
) -> None:
    key = fuzz_app[2] if path in PLATFORM_PATHS else fuzz_app[1]
    headers = {"Authorization": f"Bearer {key}"}
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(), known=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case, known: bool) -> None:
        if known and case.path_parameters:
            case.path_parameters = {
                name: KNOWN_IDS.get(name, value) for name, value in case.path_parameters.items()
            }
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    fuzz()
