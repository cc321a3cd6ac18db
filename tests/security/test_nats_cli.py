"""``vpp nats``: provisioning a real gateway as an operator would — the files it writes
work against a real nats-server started from ``vpp nats server-config``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nats
import nats.aio.client
import pytest
import yaml
from typer.testing import CliRunner

from tests.harness.wait import async_wait_until
from vpp.adapters.nats import subjects
from vpp.adapters.nats.client import connect
from vpp.adapters.nats.server import free_port, nats_server_binary
from vpp.adapters.nats.server_config import JETSTREAM_KEY_ENV
from vpp.bootstrap.nats_client import settings_for
from vpp.cli import app
from vpp.runtime import stop_process


def vpp(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_provisioned_gateway_connects_with_its_own_rights_only(tmp_path: Path) -> None:
    sec, box = tmp_path / "security", tmp_path / "box"
    vpp("nats", "init", "--dir", str(sec))
    tls_dir = str(sec / "tls")
    vpp("tls", "create-ca", "--dir", tls_dir)
    vpp("tls", "issue", "--dir", tls_dir, "--name", "nats-server", "--san", "127.0.0.1", "--client")
    port = free_port()
    url = f"tls://127.0.0.1:{port}"
    out = vpp("nats", "add-gateway", "--dir", str(sec), "--gateway-id", "gw-7", "--url", url,
              "-o", str(box))  # fmt: skip
    assert "authorization" in out and "vpp.telemetry.gw-7" in out
    for name in ("gateway-gw-7.nk", "ca.pem", "nats-gateway-gw-7.pem", "nats-gateway-gw-7-key.pem"):
        assert (box / name).stat().st_mode & 0o777 == 0o600, name
    conf = tmp_path / "nats-server.conf"
    vpp(
        "nats", "server-config", "--dir", str(sec), "--store-dir", str(tmp_path / "js"),
        "--port", str(port), "-o", str(conf), "--tls",
    )  # fmt: skip
    key = (sec / "nats" / "jetstream.key").read_text().strip()
    assert key not in conf.read_text()
    env = {**os.environ, JETSTREAM_KEY_ENV: key}
    check = subprocess.run([nats_server_binary(), "-t", "-c", str(conf)], env=env, check=False)
    assert check.returncode == 0
    server = subprocess.Popen(
        [nats_server_binary(), "-c", str(conf)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        section = yaml.safe_load((box / "nats-section.yaml").read_text())["nats"]
        for key in ("nkey_seed_file", "tls_ca_file", "tls_cert_file", "tls_key_file"):
            section[key] = str(box / section[key])  # where the box keeps them
        client = tmp_path / "gw-7.yaml"
        client.write_text(yaml.safe_dump(section))
        errors: list[str] = []

        async def record(exc: Exception) -> None:
            errors.append(str(exc))

        clients: list[nats.aio.client.Client] = []

        async def up() -> bool:
            try:
                clients.append(await connect(settings_for(None, client), "gw-7", error_cb=record))
            except (OSError, nats.errors.Error):
                return False
            return True

        await async_wait_until(up, 10)
        # the streams, made by the ops identity from its client file (nobody else may)
        ops = ["nats", "client-file", "--dir", str(sec), "--name", "ops", "--url", url]
        vpp(*ops, "-o", str(tmp_path / "ops"))
        streams = [sys.executable, "-m", "vpp", "nats", "streams"]
        made = subprocess.run(
            [*streams, "--nats-client", str(tmp_path / "ops" / "ops.yaml")],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0 and "TELEMETRY" in made.stdout, made.stdout + made.stderr
        nc = clients[0]
        await nc.publish(subjects.command("gw-7", "bat-1"), b"{}")  # refused
        ack = await nc.jetstream().publish(subjects.telemetry("gw-7"), b"{}")  # its own
        assert ack.stream == "TELEMETRY"
        await nc.flush()
        await async_wait_until(lambda: [e for e in errors if "violation" in e], 5)
        await nc.close()
        violations = [e for e in errors if "violation" in e]
        assert violations == ['nats: permissions violation for publish to "vpp.command.gw-7.bat-1"']
    finally:
        stop_process(server, 10)


def test_remove_revokes_an_identity(tmp_path: Path) -> None:
    sec = tmp_path / "security"
    vpp("nats", "init", "--dir", str(sec))
    vpp("nats", "add-gateway", "--dir", str(sec), "--gateway-id", "gw-7", "--url", "nats://x:1",
        "-o", str(tmp_path / "box"))  # fmt: skip
    assert "gateway-gw-7" in vpp("nats", "list", "--dir", str(sec))
    vpp("nats", "remove", "--dir", str(sec), "--name", "gateway-gw-7")
    assert "gateway-gw-7" not in vpp("nats", "list", "--dir", str(sec))
    result = CliRunner().invoke(app, ["nats", "remove", "--dir", str(sec), "--name", "nobody"])
    assert result.exit_code != 0


@pytest.mark.parametrize("gateway_id", ["a.b", "gw-*", "gw >"])
def test_a_malformed_gateway_id_widens_nothing(tmp_path: Path, gateway_id: str) -> None:
    args = ["nats", "add-gateway", "--dir", str(tmp_path), "--gateway-id", gateway_id]
    result = CliRunner().invoke(app, [*args, "--url", "nats://x:1", "-o", str(tmp_path / "b")])
    assert result.exit_code != 0
