"""The private CA: files and permissions, extensions, and real TLS handshakes with them."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.harness.tls import shake_hands, tls_server
from vpp.adapters.tls import (
    DEFAULT_SERVER_SANS,
    TlsError,
    client_context,
    create_ca,
    issue,
    server_context,
)

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ekus(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_a_ca_and_its_certificates_on_disk(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    ca = create_ca(ca_dir, "test CA")
    assert (ca.cert.name, ca.key.name) == ("ca.pem", "ca-key.pem")
    assert mode(ca.key) == 0o600 and mode(ca_dir) == 0o700
    ca_cert = load(ca.cert)
    basic = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature

    server = issue(ca_dir, "api", server_sans=list(DEFAULT_SERVER_SANS))
    client = issue(ca_dir, "operator", client=True)
    both = issue(ca_dir, "nats-1", server_sans=["nats-1.local", "127.0.0.1"], client=True)
    for files in (server, client, both):
        assert files.key.name == f"{files.cert.stem}-key.pem" and mode(files.key) == 0o600
        cert = load(files.cert)
        cert.verify_directly_issued_by(ca_cert)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert ekus(load(server.cert)) == {SERVER}
    assert ekus(load(client.cert)) == {CLIENT}
    assert ekus(load(both.cert)) == {SERVER, CLIENT}
    sans = load(server.cert).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_bad_requests_are_refused_with_the_reason(tmp_path: Path) -> None:
    create_ca(tmp_path)
    with pytest.raises(TlsError, match="holds a CA already"):
        create_ca(tmp_path)
    with pytest.raises(TlsError, match=r"server \(SANs\), a client, or both"):
        issue(tmp_path, "x")
    with pytest.raises(TlsError, match="at least one SAN"):
        issue(tmp_path, "x", server_sans=[])
    with pytest.raises(TlsError, match="neither an IP address nor a DNS name"):
        issue(tmp_path, "x", server_sans=["not a host"])
    with pytest.raises(TlsError, match="certificate name"):
        issue(tmp_path, "../evil", client=True)
    with pytest.raises(TlsError, match="CA's own file name"):
        issue(tmp_path, "ca", client=True)
    with pytest.raises(TlsError, match="no CA in"):
        issue(tmp_path / "elsewhere", "x", client=True)


def test_a_key_file_that_existed_is_made_owner_only(tmp_path: Path) -> None:
    create_ca(tmp_path)
    loose = tmp_path / "srv-key.pem"
    loose.write_text("old")
    loose.chmod(0o644)
    issue(tmp_path, "srv", server_sans=["localhost"])
    assert mode(loose) == 0o600 and loose.read_text().startswith("-----BEGIN PRIVATE KEY-----")


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    ca = tmp_path / "ca"
    create_ca(ca)
    issue(ca, "srv", server_sans=["localhost", "127.0.0.1"])
    issue(ca, "cli", client=True)
    issue(ca, "srv-only", server_sans=["127.0.0.1"])
    create_ca(tmp_path / "other")
    issue(tmp_path / "other", "cli", client=True)
    return tmp_path


def test_a_client_that_trusts_the_ca_connects(pki: Path) -> None:
    ca = pki / "ca"
    with tls_server(server_context(ca / "srv.pem", ca / "srv-key.pem")) as peer:
        assert shake_hands(client_context(ca / "ca.pem"), peer.port) == b"ok"
    with tls_server(server_context(ca / "srv.pem", ca / "srv-key.pem")) as peer:
        assert shake_hands(client_context(ca / "ca.pem"), peer.port, "localhost") == b"ok"


def test_a_client_that_does_not_trust_the_ca_or_names_another_host_fails(pki: Path) -> None:
    ca = pki / "ca"
    untrusted = client_context(pki / "other" / "ca.pem")
    with (
        tls_server(server_context(ca / "srv.pem", ca / "srv-key.pem")) as peer,
        pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"),
    ):
        shake_hands(untrusted, peer.port)
    with (
        tls_server(server_context(ca / "srv.pem", ca / "srv-key.pem")) as peer,
        pytest.raises(ssl.SSLCertVerificationError, match="mismatch"),
    ):
        shake_hands(client_context(ca / "ca.pem"), peer.port, "nats.example")


def test_mutual_tls_wants_a_client_certificate_of_the_ca(pki: Path) -> None:
    ca = pki / "ca"

    def server() -> ssl.SSLContext:
        return server_context(ca / "srv.pem", ca / "srv-key.pem", client_ca=ca / "ca.pem")

    with tls_server(server()) as peer:
        ctx = client_context(ca / "ca.pem", cert=ca / "cli.pem", key=ca / "cli-key.pem")
        assert shake_hands(ctx, peer.port) == b"ok"
        peer.done.wait(10)
    assert peer.client_subject is not None and "cli" in str(peer.client_subject)
    refused = [
        client_context(ca / "ca.pem"),  # no certificate
        client_context(ca / "ca.pem", cert=pki / "other/cli.pem", key=pki / "other/cli-key.pem"),
        client_context(ca / "ca.pem", cert=ca / "srv-only.pem", key=ca / "srv-only-key.pem"),
    ]
    for ctx in refused:
        with tls_server(server()) as peer:
            with pytest.raises((ssl.SSLError, OSError)):
                shake_hands(ctx, peer.port)
                shake_hands(ctx, peer.port)  # TLS 1.3: the refusal may come with the next read
            peer.done.wait(10)
        assert isinstance(peer.error, ssl.SSLError), peer.error


def test_a_context_from_missing_files_is_a_clear_error(pki: Path) -> None:
    with pytest.raises(TlsError, match="cannot load CA certificate"):
        client_context(pki / "nope.pem")
    with pytest.raises(TlsError, match="cannot load certificate"):
        server_context(pki / "ca" / "srv.pem", pki / "ca" / "cli-key.pem")
    with pytest.raises(TlsError, match="needs its key"):
        client_context(pki / "ca" / "ca.pem", cert=pki / "ca" / "cli.pem")
