"""Rate limits per key: the token bucket on a clock the test moves, then through the app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness.api_world import World, fresh_readings, make_world
from vpp.adapters.api.settings import ApiSettings
from vpp.application.rate_limits import RateLimit, RateLimiter, TokenBucket
from vpp.application.use_case_errors import RateLimited
from vpp.domain.errors import InvalidValue


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(rate_per_s=2.0, burst=3), clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)  # one token every 0.5 s
    assert limiter.take("other") == 0.0  # buckets are per key
    clock.t += 0.25
    assert limiter.take("k") == pytest.approx(0.25)
    clock.t += 0.25
    assert limiter.take("k") == 0.0
    clock.t += 100  # never more than the burst
    assert [limiter.take("k") for _ in range(4)][-1] == pytest.approx(0.5)
    with pytest.raises(RateLimited) as refused:
        limiter.check("k")
    assert refused.value.key_id == "k" and refused.value.retry_after_s == pytest.approx(0.5)


def test_a_clock_that_steps_back_adds_no_tokens() -> None:
    limit = RateLimit(1.0, 1)
    bucket = TokenBucket(1.0, 10.0)
    assert bucket.take(limit, 10.0) == 0.0
    assert bucket.take(limit, 5.0) == pytest.approx(1.0)
    assert bucket.take(limit, 10.5) == pytest.approx(0.5)


def test_the_least_recently_used_buckets_are_forgotten_beyond_max_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimit(0.001, 1), clock=clock, max_keys=2)
    assert limiter.take("a") == 0.0 and limiter.take("b") == 0.0
    assert limiter.take("a") > 0  # a is now the most recently used
    assert limiter.take("c") == 0.0  # b is forgotten, a is kept
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


@pytest.mark.parametrize("rate, burst", [(0.0, 1), (-1.0, 1), (float("inf"), 1), (1.0, 0)])
def test_a_limit_must_be_positive(rate: float, burst: int) -> None:
    with pytest.raises(InvalidValue):
        RateLimit(rate, burst)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(db_url: str, clock: Clock) -> Iterator[World]:
    settings = ApiSettings(dispatch=RateLimit(1.0, 2), admin=RateLimit(0.5, 1))
    with make_world(db_url, settings, clock) as w:
        yield w


def _dispatch(world: World, key: str, n: int) -> int:
    start = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    body = {"mode": "absolute", "intervals": [{"start": start, "duration": "PT15M", "p_kw": 5}]}
    headers = {**world.auth(key), "Idempotency-Key": f"rl-{n}"}
    return world.client.post(
        "/v1/plants/plant-a/dispatches", json=body, headers=headers
    ).status_code


def test_over_the_limit_is_a_429_problem_with_retry_after(limited: World, clock: Clock) -> None:
    w = limited
    w.readings(*fresh_readings())
    assert [_dispatch(w, w.key_a, n) for n in range(2)] == [202, 409]  # overlaps the first
    r = w.client.delete("/v1/dispatches/nope", headers=w.auth(w.key_a))  # same bucket
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.json()["type"] == "urn:vpp:problem:rate-limited" and r.json()["status"] == 429
    registry = w.client.app.state.metrics_registry  # type: ignore[attr-defined]
    sample = {"reason": "rate-limited", "route": "/v1/dispatches/{dispatch_id}"}
    assert registry.get_sample_value("vpp_api_refusals_total", sample) == 1
    assert _dispatch(w, w.key_b, 10) != 429  # another key has its own bucket
    assert all(  # reads are not limited
        w.client.get("/v1/plants", headers=w.auth(w.key_a)).status_code == 200 for _ in range(5)
    )
    clock.t += 1.0
    assert _dispatch(w, w.key_a, 2) == 409  # served again
    assert _dispatch(w, w.key_a, 3) == 429


def test_admin_routes_share_one_bucket_per_key(limited: World, clock: Clock) -> None:
    w = limited
    a = w.auth(w.key_a)
    assert w.client.put("/v1/admin/sites/site-a", json={}, headers=a).status_code == 200
    r = w.client.post("/v1/admin/keys", json={"scopes": ["read"]}, headers=a)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    # the limit holds even for a route the key has no scope for
    assert (
        w.client.post("/v1/admin/tenants", json={"tenant_id": "t-z"}, headers=a).status_code == 429
    )
    p = w.auth(w.platform_key)
    assert (
        w.client.post("/v1/admin/tenants", json={"tenant_id": "t-z"}, headers=p).status_code == 201
    )
    assert (
        w.client.post("/v1/admin/tenants", json={"tenant_id": "t-w"}, headers=p).status_code == 429
    )
    clock.t += 2.0
    assert w.client.post("/v1/admin/keys", json={"scopes": ["read"]}, headers=a).status_code == 201
