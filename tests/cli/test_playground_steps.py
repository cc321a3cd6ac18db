"""Steps of ``vpp playground`` that need no running stack: the demo registry, the
gateway.yaml document of an endpoint list, and the supervisor's stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpp.bootstrap.demo import DEMO_TENANT, demo_plants, demo_registry
from vpp.bootstrap.gateway import GatewayBuildError
from vpp.bootstrap.gateway_config import gateway_config_from_endpoints
from vpp.bootstrap.processes import Supervisor
from vpp.config.gateway import GatewayConfig
from vpp.domain.der import RATINGS_FIELDS
from vpp.domain.errors import VppError

SUNSPEC = {"der_id": "bat-1", "kind": "battery", "protocol": "sunspec", "port": 15020}
IEC = {"der_id": "pv-1", "kind": "pv", "protocol": "iec61850", "port": 10102}
IEC |= {"ied": "SIMPV1", "ld": "SIMPV1DER", "ld_inst": "DER"}


def gateway(*endpoints: dict[str, object]) -> GatewayConfig:
    doc = gateway_config_from_endpoints(list(endpoints), command_keys_file="command-keys.pub")
    return GatewayConfig.model_validate(doc)


def test_demo_plants_one_of_all_and_one_per_protocol_in_use() -> None:
    plants = demo_plants(gateway(SUNSPEC, IEC))
    assert [(p.plant_id, p.members) for p in plants] == [
        ("demo-all", ["bat-1", "pv-1"]),
        ("demo-sunspec", ["bat-1"]),
        ("demo-iec61850", ["pv-1"]),
    ]
    assert {p.tenant_id for p in plants} == {DEMO_TENANT}
    only_sunspec = demo_registry(gateway(SUNSPEC))
    assert [p.plant_id for p in only_sunspec.plants] == ["demo-all", "demo-sunspec"]
    assert [t.tenant_id for t in only_sunspec.tenants] == [DEMO_TENANT]


def test_endpoint_ratings_keep_the_domain_fields_only() -> None:
    ratings = {"p_min_w": -5000.0, "p_max_w": 5000.0, "energy_wh": 10000.0, "colour": "red"}
    doc = gateway_config_from_endpoints([SUNSPEC | {"ratings": ratings}, IEC])
    first, second = doc["devices"]
    assert first["ratings"] == {k: v for k, v in ratings.items() if k in RATINGS_FIELDS}
    assert first["unit_id"] == 1 and second["ld"] == "DER" and second["ratings"] == "device"


def test_endpoint_with_a_port_that_is_no_number_is_a_vpp_error() -> None:
    with pytest.raises(GatewayBuildError, match="port") as err:
        gateway_config_from_endpoints([SUNSPEC | {"port": None}])
    assert isinstance(err.value, VppError)


def test_supervisor_stops_children_last_started_first(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "logs")
    for name in ("first", "second"):
        sup.start(name, ["--help"]).process.wait(60)
    codes = sup.stop_all()
    assert list(codes) == ["second", "first"] and set(codes.values()) == {0}
    assert "playground" in sup.children[0].tail(lines=100)  # its log: the --help text
