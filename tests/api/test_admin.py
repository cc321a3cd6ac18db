"""Administration: tenants and keys, sites, DERs, plants; registry import from YAML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.api_world import World, make_world
from vpp.adapters.store.engine import make_engine
from vpp.adapters.store.registry_store import SqlRegistryStore
from vpp.bootstrap import import_registry_files
from vpp.config.loader import ConfigError

DER = {
    "kind": "battery",
    "gateway_id": "gw-new",
    "site_id": "site-n",
    "ratings": {"p_min_kw": -10, "p_max_kw": 10, "energy_kwh": 20},
}


def test_new_tenant_builds_its_plant_through_the_api(world: World) -> None:
    a = world.auth(world.platform_key)
    r = world.client.post("/v1/admin/tenants", json={"tenant_id": "t-new", "name": "N"}, headers=a)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["tenant_id"] == "t-new" and issued["api_key"].startswith("vpp_")
    assert issued["scopes"] == ["admin", "dispatch", "read"]
    n = world.auth(issued["api_key"])
    assert (
        world.client.post("/v1/admin/tenants", json={"tenant_id": "t-new"}, headers=a).status_code
        == 409
    )
    assert (
        world.client.put("/v1/admin/sites/site-n", json={"name": "S"}, headers=n).status_code == 200
    )
    # a site id of another tenant cannot be taken over
    assert world.client.put("/v1/admin/sites/site-a", json={}, headers=n).status_code == 409
    r = world.client.put("/v1/admin/ders/bat-n1", json=DER, headers=n)
    assert r.status_code == 200, r.text
    assert r.json()["ratings"]["p_max_kw"] == 10.0 and r.json()["site_id"] == "site-n"
    # a DER of another tenant cannot be overwritten; a site of another tenant is unknown
    assert world.client.put("/v1/admin/ders/bat-a1", json=DER, headers=n).status_code == 409
    assert (
        world.client.put(
            "/v1/admin/ders/x1", json={**DER, "site_id": "site-a"}, headers=n
        ).status_code
        == 404
    )
    bad = {**DER, "kind": "pv", "ratings": {"p_min_kw": -1, "p_max_kw": 5}}
    r = world.client.put("/v1/admin/ders/pv-n1", json=bad, headers=n)
    assert r.status_code == 422 and "PV only generates" in r.json()["detail"]
    plant = {"plant_id": "plant-n", "name": "P", "members": ["bat-n1"]}
    r = world.client.post("/v1/admin/plants", json=plant, headers=n)
    assert r.status_code == 201 and r.json()["members"] == ["bat-n1"]
    r = world.client.post("/v1/admin/plants", json={**plant, "members": ["bat-a1"]}, headers=n)
    assert r.status_code == 422 and "bat-a1" in r.json()["detail"]
    r = world.client.post("/v1/admin/plants", json={**plant, "plant_id": "plant-a"}, headers=n)
    assert r.status_code == 409
    assert [p["plant_id"] for p in world.client.get("/v1/plants", headers=n).json()["items"]] == [
        "plant-n"
    ]
    other = world.auth(world.key_a)  # another tenant's key does not see them
    assert world.client.get("/v1/plants/plant-n", headers=other).status_code == 404
    assert world.client.get("/v1/ders/bat-n1", headers=other).status_code == 404


def test_admin_key_with_read_only_scopes(world: World) -> None:
    a = world.auth(world.key_a)
    r = world.client.post("/v1/admin/keys", json={"scopes": ["read", "bogus"]}, headers=a)
    assert r.status_code == 422
    r = world.client.post("/v1/admin/keys", json={"scopes": ["dispatch"]}, headers=a)
    assert r.status_code == 201 and r.json()["scopes"] == ["dispatch"]
    assert (
        world.client.get("/v1/plants", headers=world.auth(r.json()["api_key"])).status_code == 403
    )


REGISTRY = """
tenants:
  - {tenant_id: acme, name: ACME}
sites:
  - {site_id: farm, tenant_id: acme}
plants:
  - {plant_id: vpp-1, tenant_id: acme, name: One, members: [bat-1, pv-1]}
"""

GATEWAY = """
gateway_id: gw-farm
site_id: farm
security: {command_keys_file: /etc/vpp/command-keys.pub}
devices:
  - {der_id: bat-1, kind: battery, protocol: sunspec, port: 15020, unit_id: 1,
     ratings: {p_min_w: -5000, p_max_w: 5000, energy_wh: 10000}}
  - {der_id: pv-1, kind: pv, protocol: sunspec, port: 15021,
     ratings: {p_min_w: 0, p_max_w: 8000}}
  - {der_id: hp-1, kind: heat_pump, protocol: sunspec, port: 15022}
"""


def test_registry_import_from_yaml(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "registry.yaml").write_text(REGISTRY)
    (tmp_path / "gateway.yaml").write_text(GATEWAY)
    summary = import_registry_files(db_url, tmp_path / "registry.yaml", [tmp_path / "gateway.yaml"])
    assert (summary.tenants, summary.sites, summary.ders, summary.plants) == (1, 1, 2, 1)
    assert summary.skipped == ("hp-1",)  # ratings come from the device
    again = import_registry_files(db_url, tmp_path / "registry.yaml", [tmp_path / "gateway.yaml"])
    assert again == summary  # idempotent
    engine = make_engine(db_url)
    try:
        store = SqlRegistryStore(engine)
        assert store.plant("vpp-1").members == {"bat-1", "pv-1"}
        records = store.der_records(["bat-1", "pv-1"])
        assert records["bat-1"].address == "127.0.0.1:15020/1"
        assert records["pv-1"].der.site_id == "farm" and records["pv-1"].der.gateway_id == "gw-farm"
        assert store.visible_der_ids("acme", after=None, limit=10) == ["bat-1", "pv-1"]
    finally:
        engine.dispose()
    (tmp_path / "bad.yaml").write_text(REGISTRY.replace("bat-1, pv-1", "bat-1, ghost"))
    with pytest.raises(ValueError, match="ghost"):
        import_registry_files(db_url, tmp_path / "bad.yaml", [tmp_path / "gateway.yaml"])
    (tmp_path / "typo.yaml").write_text(REGISTRY.replace("members", "membres"))
    with pytest.raises(ConfigError):
        import_registry_files(db_url, tmp_path / "typo.yaml", [])


def test_gateways_belong_to_a_tenant(world: World) -> None:
    a, b = world.auth(world.key_a), world.auth(world.key_b)
    r = world.client.put("/v1/admin/gateways/gw-x", json={"site_id": "site-a"}, headers=a)
    assert r.status_code == 200 and r.json()["site_id"] == "site-a"
    # B cannot take A's gateway, nor put a DER behind it, nor use A's site
    assert (
        world.client.put(
            "/v1/admin/gateways/gw-x", json={"site_id": "site-b"}, headers=b
        ).status_code
        == 409
    )
    der_b = {**DER, "gateway_id": "gw-x", "site_id": "site-b"}
    r = world.client.put("/v1/admin/ders/bat-b9", json=der_b, headers=b)
    assert r.status_code == 409 and "gw-x" in r.json()["detail"]
    assert (
        world.client.put(
            "/v1/admin/gateways/gw-y", json={"site_id": "site-a"}, headers=b
        ).status_code
        == 404
    )
    # A's DER behind its own gateway
    der_a = {**DER, "gateway_id": "gw-x", "site_id": "site-a"}
    assert world.client.put("/v1/admin/ders/bat-a9", json=der_a, headers=a).status_code == 200


def test_registry_changes_in_one_request_all_or_nothing(world: World) -> None:
    a = world.auth(world.key_a)
    changes = {
        "sites": [{"site_id": "site-a2", "name": "Second"}],
        "gateways": [{"gateway_id": "gw-a2", "site_id": "site-a2"}],
        "ders": [
            {**DER, "der_id": f"bat-a2-{i}", "gateway_id": "gw-a2", "site_id": "site-a2"}
            for i in range(3)
        ],
        "plants": [{"plant_id": "plant-a2", "members": ["bat-a2-0", "bat-a2-1", "pv-a1"]}],
    }
    broken = {**changes, "plants": [{"plant_id": "plant-a2", "members": ["bat-b1"]}]}
    r = world.client.post("/v1/admin/registry", json=broken, headers=a)
    assert r.status_code == 422 and "bat-b1" in r.json()["detail"]
    assert world.client.get("/v1/ders/bat-a2-0", headers=a).status_code == 404  # nothing written
    r = world.client.post("/v1/admin/registry", json=changes, headers=a)
    assert r.status_code == 200, r.text
    assert r.json()["ders"] == ["bat-a2-0", "bat-a2-1", "bat-a2-2"]
    plant = world.client.get("/v1/plants/plant-a2", headers=a).json()
    assert plant["members"] == ["bat-a2-0", "bat-a2-1", "pv-a1"]
    assert (
        world.client.get("/v1/plants/plant-a2", headers=world.auth(world.key_b)).status_code == 404
    )


@pytest.fixture(params=["sqlite", "mysql", "mysql-ci"])
def any_collation_world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "mysql-ci":
        yield request.getfixturevalue("ci_world")
        return
    with make_world(request.getfixturevalue(f"{request.param}_url")) as world:
        yield world


def test_ids_differing_in_case_never_take_over(any_collation_world: World) -> None:
    """MySQL/TiDB compare ids case-insensitively: 'PLANT-A' must not reach tenant A's
    'plant-a' (SQLite keeps them apart; either way A's resources stay A's)."""
    world = any_collation_world
    a, b = world.auth(world.key_a), world.auth(world.key_b)
    world.client.post(
        "/v1/admin/plants", json={"plant_id": "PLANT-A", "members": ["bat-b1"]}, headers=b
    )
    world.client.put("/v1/admin/sites/SITE-A", json={"name": "B's"}, headers=b)
    world.client.put("/v1/admin/gateways/GW-SITE-A", json={"site_id": "site-b"}, headers=b)
    der = {**DER, "gateway_id": "gw-site-b", "site_id": "site-b"}
    r = world.client.put("/v1/admin/ders/BAT-A1", json=der, headers=b)
    assert r.status_code in (200, 409), r.text
    plant = world.client.get("/v1/plants/plant-a", headers=a).json()
    assert plant["members"] == ["bat-a1", "pv-a1"]
    assert world.client.get("/v1/plants/plant-a", headers=b).status_code == 404
    assert world.client.get("/v1/ders/bat-a1", headers=a).json()["site_id"] == "site-a"
    assert world.client.get("/v1/ders/bat-a1", headers=b).status_code == 404
    r = world.client.put(
        "/v1/admin/ders/bat-a9",
        json={**DER, "site_id": "site-a", "gateway_id": "gw-site-a"},
        headers=a,
    )
    assert r.status_code == 200  # A's site and gateway are still A's
