"""Projector processes of one group (``vpp projector --instance …``) against a secure
NATS, their ops endpoints, gateways publishing telemetry as themselves, and the read
model's telemetry keys."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime

from nats.aio.client import Client
from sqlalchemy import Engine, text

from tests.harness.projector import batch
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.server import free_port
from vpp.bootstrap.processes import Child, Supervisor
from vpp.bootstrap.secure_nats import SecureNats

#: a projector silent for this long is dead to the others (the CLI's --lease-ttl)
LEASE_TTL_S = 3.0

Key = tuple[str, datetime]


@dataclass
class Projectors:
    sup: Supervisor
    nats: SecureNats
    db_url: str
    ports: dict[str, int] = field(default_factory=dict)  # instance -> ops port
    procs: dict[str, Child] = field(default_factory=dict)

    def start(self, instance: str) -> Child:
        port = self.ports.setdefault(instance, free_port())
        client = self.nats.client_file("projector")
        args = ["projector", "--nats-client", str(client), "--db", self.db_url]
        args += ["--instance", instance, "--metrics-port", str(port)]
        args += ["--lease-ttl", str(LEASE_TTL_S)]
        name = f"{instance}-{sum(1 for c in self.sup.children if c.name.startswith(instance))}"
        child = self.sup.start(name, args)
        self.procs[instance] = child
        return child

    def kill(self, instance: str) -> None:
        """SIGKILL: no release, no last ack, no final roll-up."""
        proc = self.procs.pop(instance).process
        proc.kill()
        proc.wait(10)

    def ready(self, instance: str) -> bool:
        return _get(self.ports[instance], "/readyz")[0] == 200

    def metric(self, instance: str, name: str) -> dict[str, float]:
        """The samples of metric ``name`` on ``instance``'s ``/metrics``: labels -> value."""
        status, body = _get(self.ports[instance], "/metrics")
        out: dict[str, float] = {}
        for line in body.splitlines() if status == 200 else ():
            if line.startswith((f"{name}{{", f"{name} ")):
                labels, value = line.rsplit(" ", 1)
                out[labels.removeprefix(name)] = float(value)
        return out

    def total(self, name: str) -> float:
        """``name`` summed over every sample of every live instance."""
        return sum(sum(self.metric(i, name).values()) for i in self.procs)

    def owned(self, instance: str) -> int:
        """Partitions ``instance`` says it holds (-1 when it does not answer)."""
        found = self.metric(instance, "vpp_projector_partitions_owned")
        return int(next(iter(found.values()))) if found else -1

    def shares(self) -> dict[str, int]:
        return {i: self.owned(i) for i in self.procs}

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.tail(30)}" for c in self.sup.children)


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@dataclass
class Published:
    """What the gateways published, by key: (der_id, ts) -> p_w."""

    rows: dict[Key, float] = field(default_factory=dict)
    messages: int = 0


async def publish_round(
    clients: dict[str, Client], published: Published, second: int, seconds: int = 2
) -> None:
    """Every gateway (as itself) publishes ``seconds`` seconds of its 5 DERs' readings."""
    for gw, nc in clients.items():
        readings = batch(gw, second, seconds)
        await nc.jetstream().publish(
            subjects.telemetry(gw),
            codec.encode_telemetry(gw, readings),
            headers={"Nats-Msg-Id": codec.telemetry_msg_id(gw, readings)},
        )
        published.messages += 1
        for r in readings:
            published.rows[(r.der_id, r.ts)] = r.p_w


def stored(engine: Engine) -> dict[Key, float]:
    with engine.connect() as con:
        rows = con.execute(text("select der_id, ts, p_w from telemetry")).all()
    from vpp.adapters.store.types import UtcDateTime

    as_utc = UtcDateTime()
    out: dict[Key, float] = {}
    for der_id, ts, p_w in rows:
        when = ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts))
        key = (der_id, as_utc.process_result_value(when, engine.dialect) or when)
        assert key not in out, f"{key} twice"
        out[key] = p_w
    return out


def rollup_counts(engine: Engine) -> dict[tuple[str, str], int]:
    """(der_id, minute) -> readings counted in the 1-minute roll-up."""
    with engine.connect() as con:
        rows = con.execute(text("select der_id, bucket, n from telemetry_1m")).all()
    return {(d, str(b)[:16]): int(n) for d, b, n in rows}


def describe(sup: Supervisor) -> str:
    return json.dumps({c.name: c.process.poll() for c in sup.children})
