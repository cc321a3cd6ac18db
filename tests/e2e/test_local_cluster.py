"""The local cluster playground as an operator breaks it: ``vpp playground --nats-nodes 3
--projectors 2 --dispatchers 2 --prometheus``, a dispatch running, then the leading
dispatcher, a projector and a NATS node killed (SIGKILL) one after the other, and every
process restarted one by one.  Throughout: the plant keeps tracking, one dispatcher leads,
no reading is lost or counted twice, every Prometheus target is up at the end."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import cluster
from tests.harness.playground import api_client, running_playground
from tests.harness.wait import wait_until

pytestmark = pytest.mark.slow

FLEET = Path(__file__).with_name("fleet_e2e.yaml")
PLANT = "demo-all"
#: the issue's bound: another dispatcher leads within two cycles (4 s) plus the lease's TTL
TAKEOVER_S = 8.0


@pytest.fixture
def local_cluster(tmp_path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    args = ["--fleet", str(FLEET), "--cycle-s", "2", "--nats-nodes", "3"]
    args += ["--projectors", "2", "--dispatchers", "2", "--prometheus"]
    with running_playground(tmp_path, *args) as info:
        yield info, tmp_path / "info.json"


def rfc3339(ts: datetime) -> str:
    return ts.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def start_dispatch(api: httpx.Client, minutes: int) -> tuple[str, float]:
    env = api.get(f"/v1/plants/{PLANT}").raise_for_status().json()["envelope"]
    target = round(env["p_now_kw"] - 0.5 * env["down_kw"], 1)
    resp = api.post(
        f"/v1/plants/{PLANT}/dispatches",
        headers={"Idempotency-Key": f"cluster-{time.time_ns()}"},
        json={
            "mode": "absolute",
            "intervals": [
                {"start": rfc3339(datetime.now(UTC)), "duration": f"PT{minutes}M", "p_kw": target}
            ],
        },
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["dispatch_id"]), target


def in_band(api: httpx.Client, target_kw: float) -> bool:
    p = api.get(f"/v1/plants/{PLANT}").json()["envelope"]["p_now_kw"]
    return bool(abs(p - target_kw) <= max(0.05 * abs(target_kw), 1.0))


def every_member_reports(api: httpx.Client) -> bool:
    env = api.get(f"/v1/plants/{PLANT}").json()["envelope"]
    return not env["members_unavailable"] and len(env["members_available"]) == 8


def one_leader(info_file: Path) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def exactly_one() -> bool:
        found[:] = cluster.leaders(info_file)
        return len(found) == 1

    wait_until(exactly_one, 30, 0.5, what=lambda: f"leaders: {found}")
    return found[0]


def test_local_cluster_survives_the_loss_of_a_leader_a_projector_and_a_nats_node(
    local_cluster: tuple[dict[str, Any], Path],
) -> None:
    info, info_file = local_cluster
    api = api_client(info)
    assert len(info["nats_urls"]) == 3 and info["prometheus_url"]
    roles = [p["role"] for p in info["processes"]]
    started = {p["name"] for p in info["processes"]}
    assert roles.count("nats-server") == 3 and roles.count("projector") == 2
    assert roles.count("dispatcher") == 2
    wait_until(lambda: every_member_reports(api), 90, 1.0, what="not all members report")
    dispatch_id, target = start_dispatch(api, minutes=4)
    wait_until(lambda: in_band(api, target), 30, 1.0, what="the plant never reached its target")

    # the leading dispatcher dies: the other leads within TAKEOVER_S and keeps tracking
    old = one_leader(info_file)
    cluster.kill(old)
    t0 = time.monotonic()
    others = [p for p in cluster.processes(info_file, "dispatcher") if p["pid"] != old["pid"]]

    def other_leads() -> bool:
        return any(cluster.metric(p["ops_url"], "vpp_dispatcher_leader") == 1.0 for p in others)

    wait_until(other_leads, TAKEOVER_S, 0.2, what="no other dispatcher took the lead")
    took = time.monotonic() - t0
    print(f"\ntakeover after {took:.1f} s")
    wait_until(lambda: in_band(api, target), 20, 1.0, what="not tracking after the takeover")

    # a projector dies: the other one takes its partitions; readings keep arriving
    projector = cluster.processes(info_file, "projector")[0]
    before = sum(cluster.readings_by_der(info["db_url"]).values())
    cluster.kill(projector)
    wait_until(
        lambda: sum(cluster.readings_by_der(info["db_url"]).values()) > before + 40,
        30,
        1.0,
        what="readings stopped arriving after a projector died",
    )

    # a NATS node dies: every process carries on with the other two
    node = cluster.processes(info_file, "nats-server")[0]
    cluster.kill(node)
    before = sum(cluster.readings_by_der(info["db_url"]).values())
    wait_until(
        lambda: sum(cluster.readings_by_der(info["db_url"]).values()) > before + 40,
        30,
        1.0,
        what="readings stopped arriving after a NATS node died",
    )
    back = wait_until(lambda: in_band(api, target), 20, 1.0, what="not tracking without the node")
    print(f"in band {back:.1f} s after the readings resumed without the NATS node")

    # everything was started again by the playground: three nodes, two of each
    def all_back() -> bool:
        procs = cluster.info_of(info_file)["processes"]
        return {p["name"] for p in procs} == started and all(
            cluster.ready(p["ops_url"]) for p in procs if p.get("ops_url")
        )

    wait_until(all_back, 60, 1.0, what=lambda: f"not all back: {cluster.info_of(info_file)}")
    assert len(cluster.leaders(info_file)) == 1
    assert_nothing_lost(info, info_file)
    status = api.get(f"/v1/dispatches/{dispatch_id}").json()
    assert status["status"] == "active", status
    assert_targets_up(info_file)


def assert_nothing_lost(info: dict[str, Any], info_file: Path) -> None:
    """The devices fall silent (the simulators stopped), the pipeline drains: the read
    model holds every reading the TELEMETRY stream holds, once (its key), no other; the
    gateway produced at least as many (a device may repeat its timestamp); the 1-minute
    roll-ups count every stored reading once."""
    sims = cluster.processes(info_file, "sim")
    for sim in sims:  # with its device processes: the whole process group
        os.killpg(int(sim["pid"]), signal.SIGSTOP)
    try:
        seen: dict[str, Any] = {}

        def drained() -> bool:
            seen["published"] = asyncio.run(cluster.published_keys(Path(info["run_dir"])))
            seen["stored"] = cluster.stored_keys(info["db_url"])
            return bool(seen["published"]) and set(seen["published"]) == seen["stored"]

        def missing() -> str:
            published, stored = set(seen.get("published", ())), seen.get("stored", set())
            lost, unknown = sorted(published - stored)[:5], sorted(stored - published)[:5]
            return f"not stored: {lost}, stored but never published: {unknown}"

        wait_until(drained, 60, 2.0, what=missing)
        produced = sum(cluster.produced_by_der(info_file).values())
        assert produced >= len(seen["stored"]) > 0
        # every closed minute is rolled up, counting each reading once (the minute still
        # open is left to the readers, who aggregate it from the raw rows)
        per_minute = Counter((d, ts.replace(second=0, microsecond=0)) for d, ts in seen["stored"])
        open_minute = max(m for _, m in per_minute)
        closed = {k: n for k, n in per_minute.items() if k[1] < open_minute}

        def rolled_up() -> bool:
            seen["rolled"] = cluster.rolled_up_minutes(info["db_url"])
            return {k: n for k, n in seen["rolled"].items() if k[1] < open_minute} == closed

        wait_until(rolled_up, 30, 1.0, what=lambda: f"roll-ups {seen['rolled']} != {closed}")
    finally:
        for sim in sims:
            os.killpg(int(sim["pid"]), signal.SIGCONT)


def assert_targets_up(info_file: Path) -> None:
    """Prometheus scrapes every process with an ops endpoint, and every one is up."""
    info = cluster.info_of(info_file)
    wanted = {p["name"] for p in info["processes"] if p.get("ops_url")}
    seen: dict[str, str] = {}

    def all_up() -> bool:
        query = {"query": "up"}
        body = httpx.get(f"{info['prometheus_url']}/api/v1/query", params=query).json()
        seen.clear()
        seen.update({r["metric"]["instance"]: r["value"][1] for r in body["data"]["result"]})
        return set(seen) == wanted and all(v == "1" for v in seen.values())

    wait_until(all_up, 30, 1.0, what=lambda: f"targets {seen}, wanted {sorted(wanted)} up")


def restart_one(info_file: Path, proc: dict[str, Any]) -> None:
    """SIGTERM ``proc`` (a clean stop, as systemd's restart does) and wait until the
    playground has started it again and it is ready."""
    cluster.kill(proc, signal.SIGTERM)
    wait_until(lambda: not cluster.alive(int(proc["pid"])), 30, 0.2, what=f"{proc} still runs")

    def back() -> bool:
        now = [p for p in cluster.info_of(info_file)["processes"] if p["name"] == proc["name"]]
        return bool(now) and now[0]["pid"] != proc["pid"] and cluster.ready(now[0]["ops_url"])

    wait_until(back, 60, 0.5, what=f"{proc['name']} did not come back ready")


def test_rolling_restart_under_load_loses_nothing_and_the_dispatch_completes(
    local_cluster: tuple[dict[str, Any], Path],
) -> None:
    info, info_file = local_cluster
    api = api_client(info)
    wait_until(lambda: every_member_reports(api), 90, 1.0, what="not all members report")
    dispatch_id, target = start_dispatch(api, minutes=3)
    wait_until(lambda: in_band(api, target), 30, 1.0, what="the plant never reached its target")
    order = [*cluster.processes(info_file, "projector"), *cluster.processes(info_file, "api")]
    order += cluster.processes(info_file, "dispatcher")
    for proc in order:
        restart_one(info_file, proc)
        assert len(cluster.leaders(info_file)) <= 1
    one_leader(info_file)
    restart_one(info_file, cluster.processes(info_file, "gateway")[0])
    wait_until(lambda: every_member_reports(api), 60, 1.0, what="members silent after restarts")

    def final() -> bool:
        return bool(api.get(f"/v1/dispatches/{dispatch_id}").json()["final"])

    wait_until(final, 240, 2.0, what="the dispatch never ended")
    status = api.get(f"/v1/dispatches/{dispatch_id}").json()
    assert status["status"] == "completed", status
    # after the dispatch (stopping the devices to let the pipeline drain would end it)
    assert_nothing_lost(info, info_file)
    assert_targets_up(info_file)
