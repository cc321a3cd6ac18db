"""deploy/prometheus and deploy/grafana as their tools read them: ``promtool check config``
and ``check rules`` (Debian's prometheus package), Grafana's dashboard model; and the
playground's Prometheus (:func:`start_prometheus`) scraping what it is given."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge

from tests.deploy.queries import ALERTS, DASHBOARDS, DEPLOY, alert_rules, dashboard_queries
from tests.harness.wait import wait_until
from vpp.adapters.prometheus.http import serve_ops
from vpp.adapters.prometheus.server import (
    DEPLOY_RULES,
    JOBS,
    ensure_installed,
    start_prometheus,
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ensure_installed()[1], *args], capture_output=True, text=True)


def test_promtool_accepts_the_scrape_config_and_the_rules() -> None:
    config = promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout + config.stderr  # alerts.yml, next to it
    rules = promtool("check", "rules", str(ALERTS))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"{len(list(alert_rules()))} rules found" in rules.stdout


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    doc = yaml.safe_load(ALERTS.read_text())
    doc["groups"][0]["rules"][0]["expr"] = "up{job= == 0"
    broken = tmp_path / "alerts.yml"
    broken.write_text(yaml.safe_dump(doc))
    assert promtool("check", "rules", str(broken)).returncode == 1


def test_scrape_jobs_are_the_ones_the_rules_and_dashboards_select() -> None:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {c["job_name"] for c in doc["scrape_configs"]}
    assert set(JOBS.values()) <= jobs  # the playground's Prometheus names them the same
    for config in doc["scrape_configs"]:
        for static in config["static_configs"]:
            assert static["targets"], config["job_name"]


def test_every_alert_says_how_bad_and_what() -> None:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
    assert DEPLOY_RULES == ALERTS  # the playground's Prometheus loads the deployed rules


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboards_are_grafana_dashboards(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert doc["uid"].startswith("vpp-") and doc["title"] and doc["schemaVersion"] >= 36
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    names = {v["name"] for v in doc["templating"]["list"]}
    assert "datasource" in names  # the Prometheus data source is chosen at import
    for panel in doc["panels"]:
        assert panel["targets"] and panel["gridPos"]["w"] > 0, panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]


def test_four_dashboards_with_unique_uids() -> None:
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    assert uids == {"vpp-fleet", "vpp-ingest", "vpp-dispatch", "vpp-gateways"}
    assert len(list(dashboard_queries())) > 30


def test_start_prometheus_scrapes_its_targets_and_stops(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Gauge("vpp_test_answer", "a value to scrape", registry=registry).set(42)
    ops = serve_ops("127.0.0.1", 0, registry)
    prom = start_prometheus(tmp_path / "prom", [("vpp-test", "one", f"127.0.0.1:{ops.port}")])
    try:
        url = f"{prom.url}/api/v1/query?query=vpp_test_answer"

        def scraped() -> list[dict[str, object]]:
            with urllib.request.urlopen(url, timeout=5) as resp:
                result: list[dict[str, object]] = json.load(resp)["data"]["result"]
            return result

        wait_until(scraped, 30, 0.5, what="the target was not scraped")
        (series,) = scraped()
        assert series["metric"] == {"__name__": "vpp_test_answer", "job": "vpp-test",
                                    "instance": "one"}  # fmt: skip
        assert series["value"][1] == "42"  # type: ignore[index]
    finally:
        assert prom.stop() == 0  # a clean SIGTERM shutdown
        ops.stop()
    assert not prom.alive()
