"""The attack of issue 11 replayed against a running ``vpp playground`` (TLS, nkeys,
signed commands, all on by default): a forged setpoint with ``seq`` 2**62 on
``vpp.command.gw-demo.<battery>``.

- with the gateway's own credentials: NATS refuses the publish;
- with the dispatcher's NATS credentials but not its signing key (a stolen central
  credential, or a compromised broker): unsigned, or signed by the attacker's own key —
  the gateway refuses it, the ack says why, and the device never moves;
- afterwards the dispatcher's own next command is applied (the forged ``seq`` never got
  into the ledger).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness.nats_clients import Refusals
from tests.harness.playground import api_client, running_playground
from tests.harness.wait import async_wait_until, wait_until
from vpp.adapters.crypto.keyring import SigningKeyring
from vpp.adapters.crypto.signatures import Ed25519CommandSigner
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.client import connect
from vpp.bootstrap.nats_client import settings_for
from vpp.domain import SetpointCommand

FLEET = Path(__file__).with_name("fleet_e2e.yaml")
GW = "gw-demo"
FORGED_SEQ = 2**62


def forged(der_id: str, n: int) -> SetpointCommand:
    now = datetime.now(UTC)
    return SetpointCommand(
        f"forged-{n}", der_id, GW, FORGED_SEQ, -5000.0, now, now + timedelta(seconds=60)
    )


async def attack(clients: Path, der_id: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Every forged command; returns the acks the gateway answered them with."""
    subject = subjects.command(GW, der_id)
    acks: list[dict[str, Any]] = []
    observer = await connect(settings_for(None, clients / "observer.yaml"), "test-observer")
    sub = await observer.subscribe(subjects.ack(GW, der_id))
    gw_refusals, disp_refusals = Refusals(), Refusals()
    gw = await connect(
        settings_for(None, clients / f"gateway-{GW}.yaml"), "attacker", error_cb=gw_refusals.record
    )
    disp = await connect(
        settings_for(None, clients / "dispatcher.yaml"), "attacker", error_cb=disp_refusals.record
    )
    try:
        await gw.publish(subject, codec.encode_command(forged(der_id, 0)))
        await gw.flush()
        await async_wait_until(lambda: gw_refusals.violations(subject), 10)
        own_key = Ed25519CommandSigner(SigningKeyring.create(tmp_path / "attacker-keys"))
        js = disp.jetstream()
        unsigned = codec.encode_command(forged(der_id, 1))
        await js.publish(subject, unsigned)
        other_key = codec.encode_command(forged(der_id, 2))
        await js.publish(subject, other_key, headers=own_key.sign(subject, other_key))
        while len(acks) < 2:
            msg = await sub.next_msg(timeout=30)
            ack = json.loads(msg.data)
            if ack["command_id"].startswith("forged-"):
                acks.append(ack)
        assert not disp_refusals.errors  # NATS lets the dispatcher identity publish...
    finally:
        for nc in (gw, disp, observer):
            await nc.close()
    return acks  # ...and the gateway is what refuses


@pytest.mark.timeout(420)
def test_forged_commands_never_move_a_device(tmp_path: Path) -> None:
    with running_playground(tmp_path, "--fleet", str(FLEET), "--cycle-s", "2") as info:
        api = api_client(info)
        ders = api.get("/v1/ders").raise_for_status().json()["items"]
        der_id = next(d["der_id"] for d in ders if d["kind"] == "battery")
        clients = Path(info["run_dir"]) / "security" / "nats" / "clients"
        acks = asyncio.run(attack(clients, der_id, tmp_path))
        assert [a["outcome"] for a in acks] == ["rejected", "rejected"], acks
        assert "unsigned" in acks[0]["reason"], acks
        assert "unknown key" in acks[1]["reason"], acks
        assert all(a["p_w_applied"] is None for a in acks)

        # the dispatcher's own commands still apply: the forged seq never got in
        now = datetime.now(UTC).replace(microsecond=0)
        start = now.isoformat().replace("+00:00", "Z")
        resp = api.post(
            "/v1/plants/demo-all/dispatches",
            headers={"Idempotency-Key": "after-attack"},
            json={
                "mode": "absolute",
                "intervals": [{"start": start, "duration": "PT30S", "p_kw": 5.0}],
            },
        )
        assert resp.status_code == 202, resp.text
        dispatch = resp.json()["dispatch_id"]
        seen: dict[str, Any] = {}

        def applied() -> bool:
            seen["s"] = api.get(f"/v1/dispatches/{dispatch}").json()
            return int(seen["s"]["commands"]["acks"].get("applied", 0)) > 0

        wait_until(applied, 60, 1.0, what=lambda: f"no command applied: {seen}")
        rejected = seen["s"]["commands"]["acks"].get("rejected", 0)
        assert rejected == 0, seen["s"]
        assert_state_in_run_dir(Path(info["run_dir"]))


def assert_state_in_run_dir(run_dir: Path) -> None:
    """Ledger, buffer, keys and credentials are the run directory's own (owner-only):
    two playgrounds of different run directories share nothing, whatever the cwd."""
    import yaml

    assert run_dir.stat().st_mode & 0o777 == 0o700
    gateway = yaml.safe_load((run_dir / "gateway.yaml").read_text())
    assert Path(gateway["data_dir"]) == run_dir / "gateway-data"
    assert (run_dir / "gateway-data" / "commands.sqlite").exists()
    for secret in (
        gateway["nats"]["nkey_seed_file"],
        gateway["nats"]["tls_key_file"],
        gateway["security"]["command_keys_file"],
    ):
        assert Path(secret).is_relative_to(run_dir), secret
    assert list((run_dir / "command-signing").glob("*.pem"))
