"""deploy/tiup: TiUP cannot run here (no TiDB binaries in any registry these machines
reach), so the topology is checked against the structure of TiUP's topology reference
("Topology Configuration File for TiDB Deployment Using TiUP") and the changefeed by
parsing it and naming real tables of vpp's schema."""

from __future__ import annotations

import ipaddress
import tomllib
from typing import Any

import yaml

from tests.deploy.queries import DEPLOY
from vpp.adapters.store.schema import metadata

TIUP = DEPLOY / "tiup"
#: the sections and instance fields of TiUP's topology reference that this file may use
SECTIONS: dict[str, set[str]] = {
    "pd_servers": {"host", "ssh_port", "name", "client_port", "peer_port", "deploy_dir",
                   "data_dir", "log_dir", "numa_node", "config", "arch", "os"},
    "tikv_servers": {"host", "ssh_port", "port", "status_port", "deploy_dir", "data_dir",
                     "log_dir", "numa_node", "config", "arch", "os"},
    "tidb_servers": {"host", "ssh_port", "port", "status_port", "deploy_dir", "log_dir",
                     "numa_node", "config", "arch", "os"},
    "cdc_servers": {"host", "ssh_port", "port", "deploy_dir", "data_dir", "log_dir",
                    "gc-ttl", "tz", "ticdc_cluster_id", "numa_node", "config", "arch", "os"},
    "monitoring_servers": {"host", "ssh_port", "port", "ng_port", "deploy_dir", "data_dir",
                           "log_dir", "storage_retention", "rule_dir", "numa_node"},
    "grafana_servers": {"host", "ssh_port", "port", "deploy_dir", "username", "password",
                        "dashboard_dir"},
    "alertmanager_servers": {"host", "ssh_port", "web_port", "cluster_port", "deploy_dir",
                             "data_dir", "log_dir"},
}  # fmt: skip
GLOBAL = {"user", "group", "ssh_port", "enable_tls", "deploy_dir", "data_dir", "log_dir",
          "resource_control", "os", "arch", "systemd_mode"}  # fmt: skip
COUNTS = {"pd_servers": 3, "tikv_servers": 3, "tidb_servers": 2, "cdc_servers": 2,
          "monitoring_servers": 1, "grafana_servers": 1}  # fmt: skip


def topology() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((TIUP / "topology.yaml").read_text())
    return doc


def test_topology_has_only_sections_and_fields_tiup_knows() -> None:
    doc = topology()
    known = {*SECTIONS, "global", "monitored", "server_configs"}
    assert set(doc) <= known, set(doc) - known
    assert set(doc["global"]) <= GLOBAL, set(doc["global"]) - GLOBAL
    assert set(doc["server_configs"]) <= {"tidb", "tikv", "pd", "tiflash", "cdc", "grafana"}
    for section, fields in SECTIONS.items():
        for instance in doc.get(section, []):
            assert set(instance) <= fields, f"{section}: {set(instance) - fields}"
            ipaddress.ip_address(instance["host"])  # TiUP wants an address per instance


def test_topology_is_the_highly_available_layout() -> None:
    doc = topology()
    for section, n in COUNTS.items():
        assert len(doc[section]) == n, section
    for section in ("pd_servers", "tikv_servers"):  # one Raft member per host
        hosts = [i["host"] for i in doc[section]]
        assert len(set(hosts)) == len(hosts), section
    assert doc["server_configs"]["pd"]["replication.max-replicas"] == 3


def test_changefeed_is_canal_json_of_real_read_model_tables() -> None:
    feed = tomllib.loads((TIUP / "changefeed.toml").read_text())
    assert feed["sink"]["protocol"] == "canal-json"
    rules = feed["filter"]["rules"]
    schemas = {r.split(".", 1)[0] for r in rules}
    tables = {r.split(".", 1)[1] for r in rules}
    assert schemas == {"vpp"}
    assert tables <= set(metadata.tables), tables - set(metadata.tables)
    # what live queries push: device state, dispatch progress, commands and their acks
    assert {"latest_state", "ders", "dispatches", "commands", "acks"} <= tables
    # bookkeeping is nobody's live view
    assert not tables & {"projection_positions", "rollup_watermarks", "api_keys"}
