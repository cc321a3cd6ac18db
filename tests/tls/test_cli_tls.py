"""``vpp tls create-ca`` and ``vpp tls issue``: what they write, and their refusals."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from vpp.cli import app


def _usages(path: Path) -> set[x509.ObjectIdentifier]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_create_a_ca_and_issue_with_it(tmp_path: Path) -> None:
    runner = CliRunner()
    pki = str(tmp_path / "pki")
    made = runner.invoke(app, ["tls", "create-ca", "--dir", pki, "--name", "site CA"])
    assert made.exit_code == 0 and "ca-key.pem" in made.output
    again = runner.invoke(app, ["tls", "create-ca", "--dir", pki])
    assert again.exit_code == 2 and "holds a CA already" in again.output
    assert runner.invoke(app, ["tls", "issue", "--dir", pki, "--name", "srv"]).exit_code == 0
    both = ["tls", "issue", "--dir", pki, "--name", "node", "--san", "127.0.0.2", "--client"]
    assert runner.invoke(app, both).exit_code == 0
    assert (
        runner.invoke(app, ["tls", "issue", "--dir", pki, "--name", "op", "--client"]).exit_code
        == 0
    )
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    assert _usages(tmp_path / "pki" / "srv.pem") == {server}
    assert _usages(tmp_path / "pki" / "node.pem") == {server, client}
    assert _usages(tmp_path / "pki" / "op.pem") == {client}
    bad = runner.invoke(app, ["tls", "issue", "--dir", pki, "--name", "x", "--san", "a b"])
    assert bad.exit_code == 2 and "neither an IP address nor a DNS name" in bad.output
    none = runner.invoke(app, ["tls", "issue", "--dir", str(tmp_path / "none"), "--name", "x"])
    assert none.exit_code == 2 and "vpp tls create-ca" in none.output
