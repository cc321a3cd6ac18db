"""Attacks on the playground's NATS, against a real nats-server with the generated config:
who may connect, publish and read what (issue 11, "NATS authentication and
authorization")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
import yaml
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from tests.harness.nats_clients import client_as, stream_count
from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.nats.permissions import Role
from vpp.bootstrap.secure_nats import SecureNats, start_secure_nats

GW_A, GW_B = "gw-a", "gw-b"


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureNats]:
    nats_ = start_secure_nats(tmp_path_factory.mktemp("secure"), (GW_A, GW_B))
    try:
        yield nats_
    finally:
        nats_.stop()


def _tls_only(secure: SecureNats, tmp_path: Path, *, ca: bool, cert: str | None) -> Path:
    """A client file with TLS material but no nkey (``cert``: whose certificate)."""
    assert secure.pki is not None
    lines = [f"url: {secure.url}"]
    if ca:
        lines.append(f"tls_ca_file: {secure.pki.ca_file}")
    if cert is not None:
        files = secure.pki.nats_clients[cert]
        lines += [f"tls_cert_file: {files.cert}", f"tls_key_file: {files.key}"]
    path = tmp_path / "anonymous.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_no_credentials_are_refused_at_connect(secure: SecureNats, tmp_path: Path) -> None:
    """A client with a valid certificate but no nkey: TLS passes, authorization does not."""
    anonymous = _tls_only(secure, tmp_path, ca=True, cert="observer")
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        async with client_as(secure, "anonymous", anonymous):
            pass


async def test_plain_connections_are_refused(secure: SecureNats) -> None:
    plain = secure.url.replace("tls://", "nats://")
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(plain, allow_reconnect=False, max_reconnect_attempts=0)


async def test_tls_needs_the_ca_and_a_client_certificate_of_it(
    secure: SecureNats, tmp_path: Path
) -> None:
    import ssl

    from vpp.adapters.tls import create_ca, issue

    async def refused(ctx: ssl.SSLContext) -> None:
        with pytest.raises((ssl.SSLError, nats.errors.Error, OSError)) as caught:
            await nats.connect(secure.url, tls=ctx, allow_reconnect=False)
        assert "Authorization" not in str(caught.value)  # refused by TLS, before auth

    await refused(ssl.create_default_context())  # the system's CAs do not know ours
    assert secure.pki is not None
    trusting = ssl.create_default_context(cafile=str(secure.pki.ca_file))
    await refused(trusting)  # no client certificate
    other = create_ca(tmp_path / "other-ca", "not vpp's CA")
    wrong = issue(other.cert.parent, "intruder", client=True)
    trusting.load_cert_chain(str(wrong.cert), str(wrong.key))
    await refused(trusting)  # a certificate of another CA


async def test_a_forged_seed_is_refused(secure: SecureNats, tmp_path: Path) -> None:
    from vpp.adapters.nats.identities import new_seed

    client = secure.gateway_client_file(GW_A).read_text()
    forged_seed = tmp_path / "forged.nk"
    forged_seed.write_bytes(new_seed())
    forged = tmp_path / "forged.yaml"
    real_seed = str(secure.security.identities.seed_file(f"gateway-{GW_A}").resolve())
    forged.write_text(client.replace(real_seed, str(forged_seed)))
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        async with client_as(secure, "forged", forged):
            pass


async def test_a_gateway_cannot_publish_a_command(secure: SecureNats) -> None:
    async with client_as(secure, "observer") as (obs, _):
        before = await stream_count(obs, subjects.COMMANDS.name)
        async with client_as(secure, f"gateway-{GW_A}") as (gw, refused):
            subject = subjects.command(GW_A, "bat-0001")
            await gw.publish(subject, b'{"p_w": -5000, "seq": 4611686018427387904}')
            await gw.flush()
            await async_wait_until(lambda: refused.violations(subject), 5)
        assert await stream_count(obs, subjects.COMMANDS.name) == before


async def test_a_gateway_cannot_publish_another_gateways_telemetry(secure: SecureNats) -> None:
    async with client_as(secure, "observer") as (obs, _):
        before = await stream_count(obs, subjects.TELEMETRY.name)
        async with client_as(secure, f"gateway-{GW_A}") as (gw, refused):
            await gw.publish(subjects.telemetry(GW_B), b"{}")
            await gw.flush()
            await async_wait_until(lambda: refused.violations(subjects.telemetry(GW_B)), 5)
            ack = await gw.jetstream().publish(subjects.telemetry(GW_A), b"{}")  # its own: yes
        assert ack.stream == subjects.TELEMETRY.name
        assert await stream_count(obs, subjects.TELEMETRY.name) == before + 1


async def test_a_gateway_cannot_read_another_gateways_commands(secure: SecureNats) -> None:
    async with client_as(secure, f"gateway-{GW_B}") as (gw_b, _):
        own = await gw_b.jetstream().pull_subscribe(
            subjects.commands_for_gateway(GW_B), durable=f"gateway-{GW_B}", stream="COMMANDS"
        )
        await own.unsubscribe()
    async with client_as(secure, f"gateway-{GW_A}") as (gw, refused):
        js = gw.jetstream(timeout=1.5)
        with pytest.raises(nats.errors.TimeoutError):  # bind to gw-b's consumer
            await js.pull_subscribe(
                subjects.commands_for_gateway(GW_B), durable=f"gateway-{GW_B}", stream="COMMANDS"
            )
        with pytest.raises(nats.errors.TimeoutError):  # a consumer of its own over everything
            await js.add_consumer(
                "COMMANDS",
                ConsumerConfig(
                    name="sneaky", durable_name="sneaky", filter_subject="vpp.command.>"
                ),
            )
        await gw.subscribe("vpp.command.>")  # a core subscription to the subjects
        await gw.flush()
        await async_wait_until(
            lambda: (
                refused.violations("consumer.info.commands.gateway-gw-b")
                and refused.violations('subscription to "vpp.command.>"')
            ),
            5,
        )


async def test_a_gateway_cannot_widen_its_own_consumer(secure: SecureNats) -> None:
    """Even under its own consumer's name the filter must be its own subjects: the server
    matches the filter in the create subject against the permission."""
    async with client_as(secure, "ops") as (ops, _):
        with contextlib.suppress(NotFoundError):  # none yet, or one an earlier test made
            await ops.jetstream().delete_consumer("COMMANDS", f"gateway-{GW_A}")
    async with client_as(secure, f"gateway-{GW_A}") as (gw, refused):
        js = gw.jetstream(timeout=1.5)
        with pytest.raises(nats.errors.TimeoutError):
            await js.pull_subscribe("vpp.command.>", durable=f"gateway-{GW_A}", stream="COMMANDS")
        assert refused.violations("consumer.create.commands.gateway-gw-a.vpp.command.>")
        sub = await js.pull_subscribe(  # its own filter: allowed
            subjects.commands_for_gateway(GW_A), durable=f"gateway-{GW_A}", stream="COMMANDS"
        )
        await sub.unsubscribe()


async def test_no_one_reads_another_identitys_inbox(secure: SecureNats) -> None:
    async with client_as(secure, f"gateway-{GW_A}") as (gw, refused):
        await gw.subscribe("_INBOX.dispatcher.>")
        await gw.subscribe("_INBOX.>")
        await gw.flush()
        await async_wait_until(lambda: len(refused.violations("subscription to")) == 2, 5)


@pytest.mark.parametrize("name", ["observer", "projector", "ops"])
async def test_only_the_dispatcher_publishes_commands(secure: SecureNats, name: str) -> None:
    subject = subjects.command(GW_A, "bat-0001")
    async with client_as(secure, name) as (nc, refused):
        await nc.publish(subject, b"{}")
        await nc.flush()
        await async_wait_until(lambda: refused.violations(subject), 5)
    async with client_as(secure, "dispatcher") as (disp, refused):
        ack = await disp.jetstream().publish(subject, b"{}")
        assert ack.stream == "COMMANDS" and not refused.errors


def test_every_identity_has_its_own_inbox(secure: SecureNats) -> None:
    identities = secure.security.identities.identities()
    assert {i.role for i in identities} == set(Role)
    for ident in identities:
        assert ident.permissions.subscribe.count(f"{ident.inbox_prefix}.>") == 1
        assert not any(s.startswith("_INBOX.>") for s in ident.permissions.subscribe)
        if ident.role is not Role.DISPATCHER:
            assert not any(p.startswith("vpp.command") for p in ident.permissions.publish)


@pytest.mark.parametrize("encrypted", [True, False])
def test_the_store_holds_no_plaintext_payload(tmp_path: Path, encrypted: bool) -> None:
    """With the cipher on, a telemetry payload is nowhere in the store directory (nor the
    key in the config); the unencrypted control proves the grep finds it when it is there."""
    secure = start_secure_nats(tmp_path, (GW_A,), encrypted=encrypted)
    marker = b'{"der_id": "pv-secret-4711", "p_w": 1234.5678}'

    async def publish() -> None:
        async with client_as(secure, f"gateway-{GW_A}") as (gw, _):
            for _ in range(20):
                await gw.jetstream().publish(subjects.telemetry(GW_A), marker)

    try:
        asyncio.run(publish())
    finally:
        secure.stop()
    files = [p for p in (tmp_path / "nats").rglob("*") if p.is_file()]
    assert any("TELEMETRY" in str(p) for p in files)
    found = [p for p in files if b"pv-secret-4711" in p.read_bytes()]
    assert bool(found) is (not encrypted), found
    key = secure.security.identities.jetstream_key().encode()
    assert not [p for p in files if key in p.read_bytes()]


async def test_a_gateway_on_the_wrong_identity_counts_what_nats_refuses(
    secure: SecureNats,
) -> None:
    """A box configured as gw-b but holding gw-a's credentials: every refusal of the
    server shows in its metrics (and its log), it never reads gw-b's commands."""
    from tests.harness.metrics import sample
    from vpp.bootstrap.gateway import build_gateway
    from vpp.config.gateway import GatewayConfig

    nats_section = yaml.safe_load(secure.gateway_client_file(GW_A).read_text())
    config = GatewayConfig.model_validate(
        {
            "gateway_id": GW_B,
            "nats": nats_section,
            "data_dir": str(secure.security.root.parent / "wrong-box"),
            "security": {"allow_unsigned_commands": True},
        }
    )
    built = build_gateway(config)
    task = asyncio.create_task(built.run())
    try:
        registry = built.metrics.registry
        await async_wait_until(
            lambda: sample(registry, "vpp_gateway_nats_refusals_total", kind="permission") > 0,
            15,
        )
    finally:
        built.stop()
        await asyncio.wait_for(task, 15)


async def test_the_projector_writes_its_leases_and_nobody_else_does(secure: SecureNats) -> None:
    """The projector identity reads and writes its keys of the lease bucket (ops made it)
    but neither the dispatcher's key nor the bucket itself; neither a gateway nor the
    dispatcher can write a projector lease (it would move projection)."""
    bucket = subjects.LEASES_BUCKET
    probe = f"{subjects.PROJECTOR_LEASES}.lease.probe"
    async with client_as(secure, "projector") as (nc, refused):
        js = nc.jetstream(timeout=1.5)
        kv = await js.key_value(bucket)
        revision = await kv.put(probe, b'{"owner": ""}')
        assert (await kv.get(probe)).revision == revision
        await nc.publish(subjects.kv_key(bucket, subjects.DISPATCHER_LEASE), b"{}")
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_key_value(bucket)
        assert refused.violations(f"$js.api.stream.delete.kv_{bucket.lower()}")
        assert refused.violations(f"$kv.{bucket.lower()}.dispatcher")  # not its key
    main_lease = subjects.kv_key(bucket, f"{subjects.PROJECTOR_LEASES}.lease.main")
    for name in (f"gateway-{GW_A}", "dispatcher"):
        async with client_as(secure, name) as (nc, refused):
            await nc.publish(main_lease, b'{"owner": "intruder"}')
            await nc.flush()
            await async_wait_until(lambda: refused.violations(main_lease), 5)
