"""``vpp nats cluster-config``: every node's config is accepted by ``nats-server -t`` (its
"test configuration and exit": it parses the file, loads the TLS files, resolves the
store key's variable), and ``deploy/nats`` holds what the generator writes today."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from vpp.adapters.nats.server import nats_server_binary
from vpp.adapters.nats.server_config import JETSTREAM_KEY_ENV
from vpp.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nats"
#: the example's machines and where its files live on them (deploy/nats/README.md)
EXAMPLE_HOSTS = ("nats-1.vpp.internal", "nats-2.vpp.internal", "nats-3.vpp.internal")
SECURITY_ON_NODES = "/etc/vpp/security"
STORE_ON_NODES = "/var/lib/vpp/nats"


def vpp(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def security_dir(root: Path, hosts: tuple[str, ...]) -> Path:
    """Identities, a CA and the server certificate for ``hosts``, as an operator makes them."""
    sec = root / "security"
    vpp("nats", "init", "--dir", str(sec))
    vpp("tls", "create-ca", "--dir", str(sec / "tls"))
    sans = [a for h in sorted(set(hosts)) for a in ("--san", h)]
    vpp("tls", "issue", "--dir", str(sec / "tls"), "--name", "nats-server", *sans, "--client")
    return sec


def check(conf: Path, sec: Path, *, with_key: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != JETSTREAM_KEY_ENV}
    if with_key:
        env[JETSTREAM_KEY_ENV] = (sec / "nats" / "jetstream.key").read_text().strip()
    return subprocess.run(
        [nats_server_binary(), "-t", "-c", str(conf)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_every_node_config_passes_nats_server_test(tmp_path: Path) -> None:
    sec = security_dir(tmp_path, ("127.0.0.1",))
    out = tmp_path / "out"
    vpp("nats", "cluster-config", "--dir", str(sec), "--store-dir", str(tmp_path / "js"),
        "-o", str(out))  # fmt: skip
    confs = sorted(out.glob("nats-*.conf"))
    assert [c.name for c in confs] == ["nats-1.conf", "nats-2.conf", "nats-3.conf"]
    for conf in confs:
        result = check(conf, sec)
        assert result.returncode == 0, result.stderr
        assert "is valid" in result.stderr + result.stdout
    text = confs[1].read_text()  # one box: the second node on the next ports
    assert "port: 4223" in text
    assert 'listen: "127.0.0.1:6223"' in text
    assert '"nats://127.0.0.1:6222", "nats://127.0.0.1:6224"' in text
    assert "cipher: chachapoly" in text and "verify: true" in text
    assert "tls/routes/ca.pem" in text  # the routes' own CA
    # the check can fail: the store key's variable unset
    assert check(confs[0], sec, with_key=False).returncode != 0


def _mask(text: str) -> str:
    return re.sub(r'nkey: "U[A-Z0-9]{55}"', 'nkey: "U…"', text)


def test_the_deploy_example_is_the_generators_output_and_valid(tmp_path: Path) -> None:
    """The example names its machines and their paths; with those paths pointing at real
    files here, nats-server accepts each node's file, and the generator (with the same
    options) writes the same files but for the identities' public keys."""
    sec = security_dir(tmp_path, EXAMPLE_HOSTS)
    out, store = tmp_path / "out", tmp_path / "store"
    vpp("nats", "cluster-config", "--dir", str(sec), "--store-dir", str(store),
        "--hosts", ",".join(EXAMPLE_HOSTS), "-o", str(out))  # fmt: skip
    committed = sorted(DEPLOY.glob("nats-*.conf"))
    assert [c.name for c in committed] == ["nats-1.conf", "nats-2.conf", "nats-3.conf"]
    for conf in committed:
        here = (
            conf.read_text()
            .replace(SECURITY_ON_NODES, str(sec.resolve()))
            .replace(STORE_ON_NODES, str(store.resolve()))
        )
        generated = (out / conf.name).read_text()
        assert _mask(here) == _mask(generated), f"regenerate {conf} (deploy/nats/README.md)"
        local = tmp_path / conf.name
        local.write_text(here)
        result = check(local, sec)
        assert result.returncode == 0, result.stderr
