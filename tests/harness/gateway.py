"""The gateway tests' helpers: a gateway config for an endpoint list, a running gateway,
commands sent over JetStream and their acks read back, a stream read in full."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext

from tests.harness.signing import CommandKeys
from vpp.adapters.nats import codec, subjects
from vpp.bootstrap import BuiltGateway
from vpp.bootstrap.gateway_config import gateway_config_from_endpoints
from vpp.config.gateway import GatewayConfig
from vpp.domain import CommandAck, SetpointCommand

#: the gateway id the command tests use unless they say otherwise
GW = "gw-cmd"
_ids = itertools.count(1)


def make_config(
    keys: CommandKeys,
    endpoints: list[dict[str, Any]],
    nats_url: str,
    data_dir: Path,
    *,
    gateway_id: str = "gw1",
    poll_s: float = 1.0,
    **overrides: Any,
) -> GatewayConfig:
    """A gateway for ``endpoints`` that pins ``keys`` (commands must be signed by them)."""
    doc = gateway_config_from_endpoints(
        endpoints,
        gateway_id=gateway_id,
        nats_url=nats_url,
        data_dir=str(data_dir),
        poll_s=poll_s,
        command_keys_file=str(keys.trusted_file),
    )
    doc.update(overrides)
    return GatewayConfig.model_validate(doc)


@contextlib.asynccontextmanager
async def running(built: BuiltGateway) -> AsyncIterator[BuiltGateway]:
    """The gateway running as a task, started; stopped (and awaited) at exit."""
    task = asyncio.create_task(built.run())
    try:
        await built.wait_started()
        yield built
    finally:
        built.stop()
        await asyncio.wait_for(task, 20)


async def read_stream(nats_url: str, stream: str, subject: str) -> list[Any]:
    """Every message of ``subject`` in a stream, in stream order (ephemeral consumer)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter=subject)
        total = sum((info.state.subjects or {}).values())
        out: list[Any] = []
        if total == 0:
            return out
        sub = await js.pull_subscribe(subject, stream=stream)
        while len(out) < total:
            try:
                msgs = await sub.fetch(min(500, total - len(out)), timeout=5)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for m in msgs:
                out.append(m)
                await m.ack()
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def command(
    der_id: str, seq: int, p_w: float, *, valid_s: float = 60.0, **kw: Any
) -> SetpointCommand:
    """A setpoint valid from a second ago for ``valid_s``; ``kw`` overrides any field."""
    now = datetime.now(UTC)
    start = kw.pop("valid_from", now - timedelta(seconds=1))
    return SetpointCommand(
        command_id=kw.pop("command_id", f"cmd-{next(_ids)}"),
        der_id=der_id,
        gateway_id=kw.pop("gateway_id", GW),
        seq=seq,
        p_w=p_w,
        valid_from=start,
        valid_until=kw.pop("valid_until", now + timedelta(seconds=valid_s)),
        dispatch_id="d-1",
    )


async def send(
    js: JetStreamContext, cmd: SetpointCommand, keys: CommandKeys, msg_id: str | None = None
) -> None:
    """Publish ``cmd`` signed by ``keys``, as the dispatcher does."""
    subject = subjects.command(cmd.gateway_id, cmd.der_id)
    payload = codec.encode_command(cmd)
    headers = keys.headers(subject, payload) | {"Nats-Msg-Id": msg_id or codec.command_msg_id(cmd)}
    await js.publish(subject, payload, headers=headers)


async def acks_of(
    nats_url: str, n: int, timeout: float = 15.0, gateway_id: str = GW
) -> dict[str, Any]:
    """The gateway's acks (:class:`CommandAck`) by command id once ``n`` are in the stream
    (or at ``timeout``: the caller checks what arrived); ``"_count"`` holds how many."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        msgs = await read_stream(nats_url, "ACKS", f"vpp.ack.{gateway_id}.>")
        acks: list[CommandAck] = [codec.decode_ack(m.data) for m in msgs]
        if len(acks) >= n or asyncio.get_running_loop().time() > deadline:
            by_id: dict[str, Any] = {a.command_id: a for a in acks}
            return by_id | {"_count": len(acks)}
        await asyncio.sleep(0.3)
