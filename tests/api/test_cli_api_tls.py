"""``vpp api`` over TLS as a real process: https with the private CA works, a client that
does not trust the CA fails, plain HTTP to the TLS port gets no HTTP answer, and with
``--tls-client-ca`` a client without a certificate of that CA is refused.  ``vpp dispatch``
reaches it with ``--ca-file`` or the info file's ``ca_file``."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.harness.wait import wait_until
from vpp.adapters.nats.server import free_port
from vpp.adapters.tls import client_context
from vpp.cli import app as vpp_app
from vpp.runtime import stop_process

VPP = [str(Path(sys.executable).parent / "vpp")]  # the console script of this venv


def run(*args: str) -> str:
    done = subprocess.run([*VPP, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class TlsApi:
    base: str
    port: int
    pki: Path
    tenant_key: str
    platform_key: str
    mutual: bool

    def context(self, *, with_cert: bool = True) -> ssl.SSLContext:
        if self.mutual and with_cert:
            pki = self.pki
            return client_context(pki / "ca.pem", cert=pki / "op.pem", key=pki / "op-key.pem")
        return client_context(self.pki / "ca.pem")


@pytest.fixture(params=["server-tls", "mutual-tls"])
def tls_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TlsApi]:
    pki = tmp_path / "pki"
    run("tls", "create-ca", "--dir", str(pki))
    run("tls", "issue", "--dir", str(pki), "--name", "api", "--san", "127.0.0.1")
    run("tls", "issue", "--dir", str(pki), "--name", "op", "--client")
    db = f"sqlite:///{tmp_path / 'vpp.sqlite'}"
    tenant_key = run("api", "--db", db, "--issue-key", "acme")
    platform_key = run("api", "--db", db, "--issue-platform-key")
    mutual = request.param == "mutual-tls"
    port = free_port()
    tls = ["--tls-cert", str(pki / "api.pem"), "--tls-key", str(pki / "api-key.pem")]
    tls += ["--tls-client-ca", str(pki / "ca.pem")] if mutual else []
    limits = ["--admin-rate", "0.01", "--admin-burst", "1"]  # one admin request per 100 s
    proc = subprocess.Popen(
        [*VPP, "api", "--db", db, "--port", str(port), *tls, *limits],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    api = TlsApi(f"https://127.0.0.1:{port}", port, pki, tenant_key, platform_key, mutual)

    def serving() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            httpx.get(f"{api.base}/openapi.json", verify=api.context(), timeout=1)
        except httpx.TransportError:
            return False
        return True

    try:
        wait_until(serving, 60, 0.2, what="vpp api did not start over TLS")
        yield api
    finally:
        stop_process(proc)


def test_https_with_the_ca_serves_and_nothing_else_does(tls_api: TlsApi) -> None:
    api = tls_api
    with httpx.Client(base_url=api.base, verify=api.context(), timeout=5) as client:
        r = client.get("/v1/plants", headers={"Authorization": f"Bearer {api.tenant_key}"})
        assert r.status_code == 200 and r.json()["items"] == []
        r = client.post(
            "/v1/admin/tenants",
            json={"tenant_id": "acme-2"},
            headers={"Authorization": f"Bearer {api.platform_key}"},
        )
        assert r.status_code == 201, r.text
        r = client.post(  # the CLI's rate limit options reach the app
            "/v1/admin/tenants",
            json={"tenant_id": "acme-3"},
            headers={"Authorization": f"Bearer {api.platform_key}"},
        )
        assert r.status_code == 429 and r.headers["retry-after"] == "100"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{api.base}/openapi.json", timeout=5)  # the system's CAs only
    # plain HTTP to the TLS port: uvicorn closes the connection without an HTTP answer
    with socket.create_connection(("127.0.0.1", api.port), timeout=5) as raw:
        raw.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = raw.recv(1024)
    assert not answer.startswith(b"HTTP/"), answer[:100]
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://127.0.0.1:{api.port}/openapi.json", timeout=5)
    if api.mutual:  # trusting the CA is not enough: the client needs its certificate
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{api.base}/openapi.json", verify=api.context(with_cert=False), timeout=5)


@pytest.mark.parametrize("tls_api", ["server-tls"], indirect=True)  # no client certificate
def test_vpp_dispatch_trusts_the_ca_from_its_option_or_the_info_file(
    tls_api: TlsApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VPP_API_URL", "VPP_API_KEY", "VPP_API_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    args = ["dispatch", "--plant", "nope", "--p-kw", "5", "--for", "PT15M", "--no-follow"]
    target = ["--api", tls_api.base, "--key", tls_api.tenant_key]
    runner = CliRunner()
    untrusted = runner.invoke(vpp_app, [*args, *target])
    assert untrusted.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.output
    # the API answers (the plant is unknown): TLS worked
    ca = str(tls_api.pki / "ca.pem")
    trusted = runner.invoke(vpp_app, [*args, *target, "--ca-file", ca])
    assert trusted.exit_code == 1 and "HTTP 404" in trusted.output, trusted.output
    info = tmp_path / "info.json"
    info.write_text(
        json.dumps({"api_url": tls_api.base, "api_key": tls_api.tenant_key, "ca_file": ca})
    )
    from_info = runner.invoke(vpp_app, [*args, "--info-file", str(info)])
    assert from_info.exit_code == 1 and "HTTP 404" in from_info.output, from_info.output
