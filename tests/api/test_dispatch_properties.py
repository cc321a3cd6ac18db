"""Property test of dispatch requests on a real plant: accepted exactly when the rules say
so, with the shortfall computed from the plant's envelope, else a 422 problem — never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count, pairwise

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests.harness.api_world import fresh_readings, seed_registry
from tests.harness.read_models import ReadModels
from vpp.bootstrap import build_api, ensure_tenant_key
from vpp.domain.units import format_rfc3339

# plant-a with fresh readings: -50 .. 80 kW, at 40 kW now
P_MIN_KW, P_MAX_KW, P_NOW_KW = -50.0, 80.0, 40.0
DURATIONS = {"PT1S": 1, "PT15M": 900, "PT1H": 3600, "P1D": 86400, "PT90M": 5400}
_keys = count()


@pytest.fixture(scope="module")
def plant_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'vpp.sqlite'}"
    app = build_api(db_url)
    seed_registry(db_url)
    key = ensure_tenant_key(db_url, "t-a", upgrade=False)
    with TestClient(app) as client:
        yield client, key, db_url
    app.state.engine.dispose()


first_start = st.one_of(
    st.integers(min_value=-120, max_value=7 * 24 * 60),  # mostly plausible, minutes from now
    st.integers(min_value=-3 * 24 * 60, max_value=9 * 24 * 60),
)
step = st.tuples(
    st.integers(min_value=-20, max_value=60),  # gap after the previous end (< 0: overlap)
    st.sampled_from(sorted(DURATIONS)),
    st.floats(min_value=-200.0, max_value=200.0, allow_nan=False),
)


@st.composite
def profiles(draw: st.DrawFn) -> list[tuple[int, str, float]]:
    """(start offset in minutes, duration, p_kw) per interval."""
    steps = draw(st.lists(step, min_size=1, max_size=4))
    offset = draw(first_start)
    out = []
    for gap, duration, p in steps:
        out.append((offset, duration, p))
        offset += DURATIONS[duration] // 60 + gap
    return out


@given(
    intervals=profiles(),
    mode=st.sampled_from(["absolute", "relative"]),
)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_accepted_exactly_when_the_rules_allow(
    plant_api: tuple[TestClient, str, str], intervals: list, mode: str
) -> None:
    client, key, db_url = plant_api
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(seconds=30)
    spans = [
        (now + timedelta(minutes=m), now + timedelta(minutes=m, seconds=DURATIONS[d]), p)
        for m, d, p in intervals
    ]
    for start, end, _ in spans:  # stay clear of the moving "now" boundaries
        assume(abs((end - datetime.now(UTC)).total_seconds()) > 20)
        assume(abs((start - datetime.now(UTC) - timedelta(days=7)).total_seconds()) > 20)
    store = ReadModels.from_url(db_url)
    store.writer.record_readings(fresh_readings())
    store.close()
    body = {
        "mode": mode,
        "intervals": [
            {"start": format_rfc3339(start), "duration": d, "p_kw": p}
            for (start, _, p), (_, d, _) in zip(spans, intervals, strict=True)
        ],
    }
    r = client.post(
        "/v1/plants/plant-a/dispatches",
        json=body,
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"prop-{next(_keys)}"},
    )
    ordered = all(b[0] >= a[1] for a, b in pairwise(spans))
    not_ended = all(end > datetime.now(UTC) for _, end, _ in spans)
    soon = spans[0][0] <= datetime.now(UTC) + timedelta(days=7)
    event(f"{mode}: {r.status_code}")
    if not (ordered and not_ended and soon):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json" and r.json()["detail"]
        return
    assert r.status_code == 202, r.text
    out = r.json()
    assert [iv["p_kw_requested"] for iv in out["intervals"]] == pytest.approx(
        [p for _, _, p in spans]
    )
    if mode == "absolute":
        expected = max(max(p - P_MAX_KW, P_MIN_KW - p, 0.0) for _, _, p in spans)
    else:
        up, down = P_MAX_KW - P_NOW_KW, P_NOW_KW - P_MIN_KW
        expected = max(max(p - up, 0.0) if p >= 0 else max(-p - down, 0.0) for _, _, p in spans)
    assert out["shortfall_kw"] == pytest.approx(expected, abs=1e-9)
    assert (out["detail"] is not None) == (expected > 1e-9)
    # the plant is free again for the next example (one dispatch at a time per DER)
    gone = client.delete(
        f"/v1/dispatches/{out['dispatch_id']}", headers={"Authorization": f"Bearer {key}"}
    )
    assert gone.status_code == 200, gone.text
