"""Signed commands against a real gateway, nats-server and SunSpec simulators: the issue's
attack (a forged ``p_w: -5000``, ``seq: 2**62`` setpoint) and its variants are never
applied, each is answered with its reason and counted, and the dispatcher's next command
is applied.  Key rotation: a gateway pinning old and new keys accepts both; once the old
key is unpinned it is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import yaml
from typer.testing import CliRunner

from tests.harness.gateway import acks_of, command, make_config, read_stream, running, send
from tests.harness.metrics import sample
from tests.harness.signing import CommandKeys, make_command_keys
from tests.harness.wait import async_wait_until
from vpp.adapters.crypto import SIGNATURE_HEADER
from vpp.adapters.nats import codec, subjects
from vpp.adapters.nats.command_sender import NatsCommandSender
from vpp.adapters.nats.streams import ensure_streams
from vpp.bootstrap import build_gateway
from vpp.cli import app
from vpp.domain import AckOutcome, DerKind, SetpointCommand
from vpp.domain.commands import seq_at

REFUSED = "vpp_gateway_commands_refused_total"


def signed(cmd: SetpointCommand, keys: CommandKeys) -> tuple[str, bytes, dict[str, str]]:
    subject = subjects.command(cmd.gateway_id, cmd.der_id)
    payload = codec.encode_command(cmd)
    return subject, payload, keys.headers(subject, payload)


def now_seq() -> int:
    return seq_at(datetime.now(UTC))


async def ack_of(nats_url: str, gw: str, command_id: str) -> Any:
    """The latest ack of ``command_id`` once it is in the ACKS stream."""
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        found.update(await acks_of(nats_url, 0, timeout=0, gateway_id=gw))
        return command_id in found

    await async_wait_until(arrived, 15, step_s=0.2)
    return found[command_id]


async def test_forged_commands_never_move_a_device(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    gw_id = "gw-sign"
    fleet = await fleet_factory({DerKind.BATTERY: 1, DerKind.PV: 1})
    bat = fleet.devices["bat-0001"]
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    stranger = make_command_keys(tmp_path / "stranger")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            await async_wait_until(
                lambda: all(r.connected for r in gw.gateway.runners.values()), 20, step_s=0.1
            )
            reg = gw.metrics.registry

            def cmd(p_w: float, **kw: Any) -> SetpointCommand:
                return command("bat-0001", kw.pop("seq", now_seq()), p_w, gateway_id=gw_id, **kw)

            first = cmd(-2000.0)
            first_msg = signed(first, command_keys)
            await js.publish(*first_msg[:2], headers=first_msg[2])
            assert (await ack_of(nats_url, gw_id, first.command_id)).outcome is AckOutcome.APPLIED
            second = cmd(-1000.0)
            await send(js, second, command_keys)
            assert (await ack_of(nats_url, gw_id, second.command_id)).outcome is AckOutcome.APPLIED
            assert bat.controls["WSet"] == -1000

            async def refused(forged: SetpointCommand, headers: dict[str, str] | None) -> str:
                subject = subjects.command(gw_id, forged.der_id)
                await js.publish(subject, codec.encode_command(forged), headers=headers)
                ack = await ack_of(nats_url, gw_id, forged.command_id)
                assert ack.outcome is AckOutcome.REJECTED, ack
                assert bat.controls["WSet"] == -1000  # never applied
                return str(ack.reason)

            # the attack, unsigned; with a real future command id of the dispatcher
            attack = cmd(-5000.0, seq=2**62, command_id="d-1-0-bat-0001-future")
            assert await refused(attack, None) == "signature: unsigned"
            assert sample(reg, REFUSED, reason="unsigned") == 1
            # signed by a key the gateway does not pin
            alien = cmd(-5000.0)
            reason = await refused(alien, signed(alien, stranger)[2])
            assert reason == f"signature: unknown key {stranger.signer.key_id}"
            assert sample(reg, REFUSED, reason="unknown_key") == 1
            # a real signature, of another payload
            bad = cmd(-5000.0)
            assert await refused(bad, first_msg[2]) == "signature: bad signature"
            # a real signed command moved to another DER's subject: bad signature too
            await js.publish(subjects.command(gw_id, "pv-0001"), first_msg[1], headers=first_msg[2])
            await async_wait_until(lambda: sample(reg, REFUSED, reason="bad_signature") == 2, 10)
            dead = await read_stream(nats_url, "DEADLETTER", "vpp.deadletter.commands")
            moved = [json.loads(m.data) for m in dead if b"gw-sign.pv-0001" in m.data]
            assert moved and moved[0]["reason"].startswith("signature: bad signature")
            # a signature header that is no base64 at all
            junk = cmd(-5000.0)
            headers = signed(junk, command_keys)[2] | {SIGNATURE_HEADER: "%%%"}
            assert await refused(junk, headers) == "signature: bad signature"
            assert sample(reg, REFUSED, reason="bad_signature") == 3
            # the first command again, byte for byte (a fresh msg id defeats the dedupe)
            await js.publish(*first_msg[:2], headers=first_msg[2] | {"Nats-Msg-Id": "replay"})
            await async_wait_until(lambda: sample(reg, REFUSED, reason="replayed") == 1, 10)
            assert bat.controls["WSet"] == -1000
            # an unsigned copy of an answered command: counted, and its real ack stands
            forged_copy = SetpointCommand(
                first.command_id, "bat-0001", gw_id, 2**62, -5000.0, first.valid_from,
                first.valid_until, first.dispatch_id,
            )  # fmt: skip
            subject = subjects.command(gw_id, "bat-0001")
            await js.publish(subject, codec.encode_command(forged_copy))
            await async_wait_until(lambda: sample(reg, REFUSED, reason="unsigned") == 2, 10)
            assert bat.controls["WSet"] == -1000
            # signed by the dispatcher's key, but expired, or with the forged sequence
            then = datetime.now(UTC) - timedelta(minutes=2)
            expired = command(
                "bat-0001", seq_at(then), -5000.0, gateway_id=gw_id, valid_from=then,
                valid_until=then + timedelta(minutes=1),
            )  # fmt: skip
            await send(js, expired, command_keys)
            e = await ack_of(nats_url, gw_id, expired.command_id)
            assert e.outcome is AckOutcome.EXPIRED and "validity window" in e.reason
            # (one DER's commands are handled in stream order: the copy is done with by now)
            assert (await ack_of(nats_url, gw_id, first.command_id)).outcome is AckOutcome.APPLIED
            far = cmd(-5000.0, seq=2**62)
            await send(js, far, command_keys)
            f = await ack_of(nats_url, gw_id, far.command_id)
            assert f.outcome is AckOutcome.REJECTED and "ahead of its valid_from" in f.reason
            assert bat.controls["WSet"] == -1000
            counted = {o: sample(reg, "vpp_gateway_commands_total", outcome=o) for o in
                       ("applied", "expired", "rejected")}  # fmt: skip
            assert counted == {"applied": 2, "expired": 1, "rejected": 1}

            # the dispatcher's next command is applied, even with the forged command's id:
            # a refused forgery never entered the ledger
            legit = cmd(-1500.0, command_id=attack.command_id)
            await NatsCommandSender(js, command_keys.signer).send_commands([legit])
            await async_wait_until(lambda: bat.controls["WSet"] == -1500, 10)
            assert gw.ledger.last_seq("bat-0001") == legit.seq
            a = await ack_of(nats_url, gw_id, legit.command_id)
            assert a.outcome is AckOutcome.APPLIED and a.p_w_applied == -1500.0
    finally:
        await nc.close()


async def test_rotated_keys_both_accepted_until_the_old_one_is_unpinned(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    gw_id = "gw-rotate"
    fleet = await fleet_factory({DerKind.BATTERY: 1})
    bat = fleet.devices["bat-0001"]
    old = command_keys
    new = old.rotated()  # the pinned file now lists both keys
    cfg = make_config(old, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)

    async def setpoint(keys: CommandKeys, p_w: float) -> Any:
        c = command("bat-0001", now_seq(), p_w, gateway_id=gw_id)
        await send(js, c, keys)
        return await ack_of(nats_url, gw_id, c.command_id)

    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            assert (await setpoint(old, -1000.0)).outcome is AckOutcome.APPLIED
            assert (await setpoint(new, -1200.0)).outcome is AckOutcome.APPLIED
            assert bat.controls["WSet"] == -1200
        # the operator unpins the old key and restarts the gateway
        pinned = old.trusted_file.read_text().splitlines()
        kept = [ln for ln in pinned if ln.startswith("#") or new.signer.key_id in ln]
        old.trusted_file.write_text("\n".join(kept) + "\n")
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            refused = await setpoint(old, -3000.0)
            assert refused.outcome is AckOutcome.REJECTED
            assert refused.reason == f"signature: unknown key {old.signer.key_id}"
            assert sample(gw.metrics.registry, REFUSED, reason="unknown_key") == 1
            assert (await setpoint(new, -800.0)).outcome is AckOutcome.APPLIED
            assert bat.controls["WSet"] == -800
    finally:
        await nc.close()


async def test_reset_ledger_clears_a_locked_out_der(
    command_keys: CommandKeys, fleet_factory, nats_url: str, tmp_path: Path
) -> None:
    """A sequence that got in (here: within the bound, 50 s ahead) refuses the next real
    ones until an operator resets the DER's ledger entry, with the gateway running."""
    gw_id = "gw-reset"
    fleet = await fleet_factory({DerKind.BATTERY: 1})
    bat = fleet.devices["bat-0001"]
    cfg = make_config(command_keys, fleet.endpoints, nats_url, tmp_path / "gw", gateway_id=gw_id)
    cfg_file = tmp_path / "gateway.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        async with running(build_gateway(cfg)) as gw:
            assert await gw.uplink.wait_connected(10)
            ahead = command("bat-0001", now_seq() + 50_000_000, -900.0, gateway_id=gw_id)
            await send(js, ahead, command_keys)
            assert (await ack_of(nats_url, gw_id, ahead.command_id)).outcome is AckOutcome.APPLIED
            locked = command("bat-0001", now_seq(), -400.0, gateway_id=gw_id)
            await send(js, locked, command_keys)
            assert "not newer" in (await ack_of(nats_url, gw_id, locked.command_id)).reason

            run = CliRunner().invoke
            out = run(
                app, ["gateway", "reset-ledger", "--config", str(cfg_file), "--der", "bat-0001"]
            )
            assert out.exit_code == 0, out.output
            assert (
                f"removed last applied sequence {ahead.seq} (command {ahead.command_id})"
                in out.output
            )
            again = run(
                app, ["gateway", "reset-ledger", "--config", str(cfg_file), "--der", "bat-0001"]
            )
            assert again.exit_code == 0 and "nothing removed" in again.output
            ghost = run(
                app, ["gateway", "reset-ledger", "--config", str(cfg_file), "--der", "nope"]
            )
            assert ghost.exit_code == 2 and "not configured" in ghost.output

            after = command("bat-0001", now_seq(), -400.0, gateway_id=gw_id)
            await send(js, after, command_keys)
            assert (await ack_of(nats_url, gw_id, after.command_id)).outcome is AckOutcome.APPLIED
            assert bat.controls["WSet"] == -400
    finally:
        await nc.close()
