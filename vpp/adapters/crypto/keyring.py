"""The dispatcher's signing keyring: a directory (mode 0700) of Ed25519 private keys, one
PKCS8 PEM file ``<key_id>.pem`` (mode 0600) each, and a ``current`` file naming the key
that signs.  Rotation adds a new current key and keeps the old ones, so a gateway that
pins old and new keys accepts commands signed by either while the fleet is updated.

A key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public key.  The
trusted-keys file a gateway pins has one line per key, ``ed25519 <key_id> <base64 raw
public key>``; blank lines and ``#`` comments are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vpp.domain.errors import VppError

CURRENT = "current"
ALGORITHM = "ed25519"


class KeyringError(VppError):
    """A keyring or trusted-keys file that cannot be used, and why."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def _write_private(directory: Path, key: Ed25519PrivateKey) -> str:
    kid = key_id_of(key.public_key())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = directory / f"{kid}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return kid


def _set_current(directory: Path, kid: str) -> None:
    tmp = directory / f".{CURRENT}.tmp"
    tmp.write_text(kid + "\n", encoding="ascii")
    tmp.chmod(0o600)
    tmp.replace(directory / CURRENT)


def _check_private_dir(directory: Path) -> None:
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise KeyringError(f"{directory}: signing keys must be owner-only (mode {mode:o})")


@dataclass(frozen=True)
class SigningKeyring:
    """The keys of one keyring directory; ``current`` signs, all verify."""

    directory: Path
    current_id: str
    keys: dict[str, Ed25519PrivateKey]

    @property
    def current(self) -> Ed25519PrivateKey:
        return self.keys[self.current_id]

    @classmethod
    def create(cls, directory: Path) -> SigningKeyring:
        """A new keyring with one key; refuses a directory that already holds one."""
        if (directory / CURRENT).exists():
            raise KeyringError(f"{directory} already holds a keyring")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        _set_current(directory, _write_private(directory, Ed25519PrivateKey.generate()))
        return cls.load(directory)

    @classmethod
    def load(cls, directory: Path) -> SigningKeyring:
        if not (directory / CURRENT).is_file():
            raise KeyringError(f"{directory}: no keyring ('vpp keys create --dir {directory}')")
        _check_private_dir(directory)
        keys: dict[str, Ed25519PrivateKey] = {}
        for path in sorted(directory.glob("*.pem")):
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyringError(f"{path}: not an Ed25519 private key")
            kid = key_id_of(key.public_key())
            if path.stem != kid:
                raise KeyringError(f"{path}: file name does not match its key id {kid}")
            keys[kid] = key
        current = (directory / CURRENT).read_text(encoding="ascii").strip()
        if current not in keys:
            raise KeyringError(f"{directory}: current key {current!r} has no .pem file")
        return cls(directory, current, keys)

    @classmethod
    def load_or_create(cls, directory: Path) -> SigningKeyring:
        return cls.load(directory) if (directory / CURRENT).exists() else cls.create(directory)

    @classmethod
    def rotate(cls, directory: Path) -> SigningKeyring:
        """A new current key; the old keys stay (export them until no gateway needs them)."""
        cls.load(directory)
        _set_current(directory, _write_private(directory, Ed25519PrivateKey.generate()))
        return cls.load(directory)

    def public_lines(self) -> list[str]:
        out = []
        for kid, key in sorted(self.keys.items()):
            raw = base64.b64encode(_raw_public(key.public_key())).decode("ascii")
            out.append(f"{ALGORITHM} {kid} {raw}")
        return out


def export_public(directory: Path, output: Path | None = None) -> str:
    """The trusted-keys file of a keyring (every key, current first); written to
    ``output`` if given."""
    ring = SigningKeyring.load(directory)
    lines = ring.public_lines()
    lines.sort(key=lambda line: line.split()[1] != ring.current_id)
    text = (
        f"# vpp command keys of {directory.name}; current {ring.current_id}\n"
        + "\n".join(lines)
        + "\n"
    )
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="ascii")
    return text


def parse_trusted_keys(text: str, source: str = "trusted keys") -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] != ALGORITHM:
            raise KeyringError(f"{source}:{n}: expected 'ed25519 <key_id> <base64>'")
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(parts[2], validate=True))
        except (ValueError, binascii.Error) as exc:
            raise KeyringError(f"{source}:{n}: not an Ed25519 public key ({exc})") from exc
        if key_id_of(key) != parts[1]:
            raise KeyringError(f"{source}:{n}: key id {parts[1]} does not match the key")
        keys[parts[1]] = key
    if not keys:
        raise KeyringError(f"{source}: no keys")
    return keys


def load_trusted_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise KeyringError(f"command keys file {path}: {exc.strerror or exc}") from exc
    return parse_trusted_keys(text, str(path))
