"""Tenant creation needs the platform scope; every refused request is counted and logged."""

from __future__ import annotations

import logging

import pytest

from tests.harness.api_world import World
from vpp.application.auth import PLATFORM_TENANT
from vpp.bootstrap import ensure_tenant_key, issue_platform_key

TENANTS = "/v1/admin/tenants"


def refusals(world: World, reason: str, route: str) -> float:
    registry = world.client.app.state.metrics_registry  # type: ignore[attr-defined]
    value = registry.get_sample_value("vpp_api_refusals_total", {"reason": reason, "route": route})
    return value or 0.0


def test_a_tenant_admin_key_cannot_create_tenants(world: World) -> None:
    r = world.client.post(TENANTS, json={"tenant_id": "t-x"}, headers=world.auth(world.key_a))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:vpp:problem:forbidden" and "platform" in r.json()["detail"]
    assert refusals(world, "missing-scope", TENANTS) == 1
    r = world.client.post(
        TENANTS, json={"tenant_id": "t-x"}, headers=world.auth(world.platform_key)
    )
    assert r.status_code == 201, r.text
    assert r.json()["tenant_id"] == "t-x" and r.json()["scopes"] == ["admin", "dispatch", "read"]


def test_the_platform_key_does_nothing_but_create_tenants(world: World) -> None:
    p = world.auth(world.platform_key)
    assert world.client.get("/v1/plants", headers=p).status_code == 403
    assert (
        world.client.post("/v1/admin/keys", json={"scopes": ["read"]}, headers=p).status_code == 403
    )
    assert world.client.put("/v1/admin/sites/s-p", json={}, headers=p).status_code == 403
    assert refusals(world, "missing-scope", "/v1/admin/keys") == 1


def test_no_tenant_key_gets_the_platform_scope(world: World) -> None:
    a, p = world.auth(world.key_a), world.auth(world.platform_key)
    r = world.client.post("/v1/admin/keys", json={"scopes": ["platform"]}, headers=a)
    assert r.status_code == 422
    body = {"tenant_id": "t-y", "scopes": ["platform"]}
    assert world.client.post(TENANTS, json=body, headers=p).status_code == 422
    # the platform keys' own tenant is reserved
    r = world.client.post(TENANTS, json={"tenant_id": PLATFORM_TENANT}, headers=p)
    assert r.status_code == 422 and "reserved" in r.json()["detail"]


def test_each_authentication_failure_is_counted_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    key_id, secret = world.key_a.removeprefix("vpp_").split("_", 1)
    issued = world.client.post(
        "/v1/admin/keys", json={"scopes": ["read"]}, headers=world.auth(world.key_a)
    ).json()
    world.client.delete(f"/v1/admin/keys/{issued['key_id']}", headers=world.auth(world.key_a))
    cases = {
        "missing-key": {},
        "malformed-key": world.auth("not-a-key"),
        "unknown-key": world.auth(f"vpp_{'0' * 16}_{secret}"),
        "wrong-secret": world.auth(f"vpp_{key_id}_wrong{secret}"),
        "revoked-key": world.auth(issued["api_key"]),
    }
    with caplog.at_level(logging.WARNING, logger="vpp.api.refusals"):
        for headers in cases.values():
            assert world.client.get("/v1/plants", headers=headers).status_code == 401
    for reason in cases:
        assert refusals(world, reason, "/v1/plants") == 1, reason
    lines = [r for r in caplog.records if r.name == "vpp.api.refusals"]
    assert [r.refusal["reason"] for r in lines] == list(cases)  # type: ignore[attr-defined]
    by_reason = {r.refusal["reason"]: r for r in lines}  # type: ignore[attr-defined]
    wrong = by_reason["wrong-secret"]
    assert wrong.refusal["key_id"] == key_id and wrong.refusal["route"] == "/v1/plants"  # type: ignore[attr-defined]
    assert f"key_id={key_id}" in wrong.getMessage() and "reason=wrong-secret" in wrong.getMessage()
    assert by_reason["missing-key"].refusal["key_id"] == "-"  # type: ignore[attr-defined]
    assert all(secret not in r.getMessage() and secret not in str(r.__dict__) for r in lines)


def test_more_platform_keys_share_the_reserved_tenant(world: World) -> None:
    second = issue_platform_key(world.db_url, upgrade=False)  # _platform exists already
    assert second != world.platform_key
    for key in (world.platform_key, second):
        body = {"tenant_id": f"t-{key[4:12]}"}
        assert world.client.post(TENANTS, json=body, headers=world.auth(key)).status_code == 201
    with pytest.raises(ValueError, match="reserved"):
        ensure_tenant_key(world.db_url, PLATFORM_TENANT, upgrade=False)
