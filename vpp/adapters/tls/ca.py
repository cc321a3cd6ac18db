"""A private CA on disk: ``create_ca`` and ``issue``, with ``cryptography``'s X.509 builder.

Keys are ECDSA P-256 (nats-server, OpenSSL and Go's TLS stack all take them).  The CA may
sign only end-entity certificates (``pathlen:0``).  An end-entity certificate carries the
key usage ``digitalSignature`` and the extended key usages it is for: ``serverAuth`` when
it has subject alternative names (DNS names and IP addresses), ``clientAuth`` when it is a
client certificate, both for a process that is either (a nats-server in a cluster dials
its routes as a client and accepts them as a server).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vpp.domain.errors import VppError

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
#: what a server certificate names when no SAN is given: this machine's loopback
DEFAULT_SERVER_SANS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
LEAF_DAYS = 825  # the longest validity clients still accept for a server certificate
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DNS = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9-]{1,63}$")


class TlsError(VppError):
    """A CA or certificate that cannot be made: bad name, SAN, missing CA, existing CA."""


@dataclass(frozen=True, slots=True)
class CertFiles:
    """Where a certificate, its private key and the CA that signed it are."""

    cert: Path
    key: Path
    ca: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        os.write(fd, pem)
    finally:
        os.close(fd)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vpp"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise TlsError(f"certificate name {name!r}: use 1-64 of [A-Za-z0-9_.-] (a file name)")
    return name


def create_ca(
    directory: str | Path, name: str = "vpp private CA", *, days: int = CA_DAYS
) -> CertFiles:
    """A new CA in ``directory`` (created 0700): ``ca.pem`` and ``ca-key.pem`` (0600).

    Refuses to replace an existing CA: every certificate it signed would stop working.
    """
    where = Path(directory)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = where / CA_CERT, where / CA_KEY
    if cert_path.exists() or key_path.exists():
        raise TlsError(f"{where} holds a CA already ({CA_CERT}/{CA_KEY}); not replaced")
    if not name or len(name) > 64:
        raise TlsError("the CA's name must be 1-64 characters")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return CertFiles(cert_path, key_path, cert_path)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    if len(value) > 253 or not _DNS.match(value):
        raise TlsError(f"SAN {value!r} is neither an IP address nor a DNS name")
    return x509.DNSName(value.lower())


def _load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((ca_dir / CA_KEY).read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise TlsError(f"no CA in {ca_dir}: run vpp tls create-ca --dir {ca_dir}") from exc
    except ValueError as exc:
        raise TlsError(f"the CA in {ca_dir} cannot be read: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"the CA key in {ca_dir} is not an EC key made by vpp tls create-ca")
    return cert, key


def issue(
    ca_dir: str | Path,
    name: str,
    *,
    server_sans: Sequence[str] | None = None,
    client: bool = False,
    days: int = LEAF_DAYS,
) -> CertFiles:
    """``<name>.pem`` and ``<name>-key.pem`` (0600) in ``ca_dir``, signed by its CA.

    ``server_sans`` (DNS names, IP addresses) make it a server certificate (``serverAuth``);
    ``client`` makes it a client certificate (``clientAuth``); both make it dual-use.
    The subject's common name is ``name``.  An existing certificate of that name is replaced.
    """
    where = Path(ca_dir)
    _check_name(name)
    if name in ("ca", "ca-key"):
        raise TlsError(f"{name!r} is the CA's own file name")
    if server_sans is None and not client:
        raise TlsError("a certificate is for a server (SANs), a client, or both")
    if server_sans is not None and not server_sans:
        raise TlsError("a server certificate needs at least one SAN (DNS name or IP)")
    sans = [_san(s) for s in server_sans or ()]
    ca_cert, ca_key = _load_ca(where)
    key = ec.generate_private_key(ec.SECP256R1())
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if sans else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    now = dt.datetime.now(dt.UTC)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path, key_path = where / f"{name}.pem", where / f"{name}-key.pem"
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return CertFiles(cert_path, key_path, where / CA_CERT)
