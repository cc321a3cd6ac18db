"""Security: bearer keys with scopes, tenant isolation, problem documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.harness.api_world import World
from vpp.adapters.store import schema as s
from vpp.domain.units import format_rfc3339

PROBLEM = "application/problem+json"


def dispatch_body(p_kw: float = 20.0) -> dict[str, object]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    return {
        "mode": "absolute",
        "intervals": [{"start": format_rfc3339(start), "duration": "PT15M", "p_kw": p_kw}],
    }


def test_no_key_is_401_problem(world: World) -> None:
    for path in ("/v1/plants", "/v1/plants/plant-a", "/v1/ders", "/v1/dispatches/x"):
        r = world.client.get(path)
        assert r.status_code == 401, path
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"].startswith("Bearer")
        body = r.json()
        assert body["status"] == 401 and body["type"].endswith("not-authenticated")
        assert body["instance"] == path


def test_bad_keys_are_401(world: World) -> None:
    good = world.key_a
    key_id = good.split("_")[1]
    for bad in (
        "nonsense",
        "vpp_",
        f"vpp_{key_id}_wrong-secret",
        f"vpp_{'0' * 16}_{good.split('_', 2)[2]}",
        good + "x",
        "vpp_ÄÖ_x",
    ):
        value = f"Bearer {bad}".encode("latin-1")
        r = world.client.get("/v1/plants", headers={"Authorization": value})
        assert r.status_code == 401, bad
    r = world.client.get("/v1/plants", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 401


def test_keys_are_stored_hashed(world: World) -> None:
    secret = world.key_a.split("_", 2)[2]
    with world.store.engine.connect() as con:
        rows = con.execute(select(s.api_keys)).all()
    assert rows and all(secret not in " ".join(map(str, row)) for row in rows)


def test_wrong_scope_is_403(world: World) -> None:
    read_only = world.auth(world.key_a_read)
    assert world.client.get("/v1/plants", headers=read_only).status_code == 200
    r = world.client.post(
        "/v1/plants/plant-a/dispatches",
        json=dispatch_body(),
        headers={**read_only, "Idempotency-Key": "k-scope"},
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM and "dispatch" in r.json()["detail"]
    r = world.client.post("/v1/admin/keys", json={"scopes": ["read"]}, headers=read_only)
    assert r.status_code == 403


def test_other_tenants_resources_are_404(world: World) -> None:
    a, b = world.auth(world.key_a), world.auth(world.key_b)
    created = world.client.post(
        "/v1/plants/plant-b/dispatches",
        json=dispatch_body(),
        headers={**b, "Idempotency-Key": "k1"},
    )
    assert created.status_code == 202
    b_dispatch = created.json()["dispatch_id"]
    for path in (
        "/v1/plants/plant-b",
        "/v1/plants/plant-b/telemetry",
        "/v1/ders/bat-b1",
        "/v1/ders/bat-b1/telemetry",
        f"/v1/dispatches/{b_dispatch}",
    ):
        r = world.client.get(path, headers=a)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == PROBLEM
    r = world.client.post(
        "/v1/plants/plant-b/dispatches",
        json=dispatch_body(),
        headers={**a, "Idempotency-Key": "k2"},
    )
    assert r.status_code == 404
    assert world.client.delete(f"/v1/dispatches/{b_dispatch}", headers=a).status_code == 404
    assert (
        world.client.get(f"/v1/dispatches/{b_dispatch}", headers=b).json()["status"] == "accepted"
    )
    listed = world.client.get("/v1/plants", headers=a).json()["items"]
    assert [p["plant_id"] for p in listed] == ["plant-a"]
    ders = world.client.get("/v1/ders", headers=a).json()["items"]
    assert [d["der_id"] for d in ders] == ["bat-a1", "pv-a1"]
    assert world.client.get("/v1/dispatches", headers=a).json()["items"] == []


def test_revoked_key_is_401(world: World) -> None:
    a = world.auth(world.key_a)
    issued = world.client.post("/v1/admin/keys", json={"scopes": ["read"]}, headers=a)
    assert issued.status_code == 201
    new = issued.json()
    headers = world.auth(new["api_key"])
    assert world.client.get("/v1/plants", headers=headers).status_code == 200
    # another tenant cannot revoke it
    b = world.auth(world.key_b)
    assert world.client.delete(f"/v1/admin/keys/{new['key_id']}", headers=b).status_code == 404
    assert world.client.delete(f"/v1/admin/keys/{new['key_id']}", headers=a).status_code == 204
    r = world.client.get("/v1/plants", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_unknown_route_and_method_are_problems(world: World) -> None:
    r = world.client.get("/v1/nothing-here", headers=world.auth(world.key_a))
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    r = world.client.patch("/v1/plants", headers=world.auth(world.key_a))
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM


UNAUTHENTICATED = {"/healthz", "/readyz"}


def test_openapi_declares_the_key_and_problems_everywhere(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path in UNAUTHENTICATED:  # probes of load balancers: no key, no tenant data
                assert "security" not in op, (method, path)
                continue
            assert op["security"] == [{"ApiKey": []}], (method, path)
            assert "application/problem+json" in op["responses"]["401"]["content"], (method, path)
            assert "403" in op["responses"], (method, path)
