"""NATS identities on disk: one nkey per process, its role, its inbox prefix.

Layout of an identity directory (created 0700; every secret 0600)::

    identities.json       name, role, gateway_id, public key, inbox prefix of each
    seeds/<name>.nk       the nkey seed (the secret a process connects with)
    jetstream.key         the key JetStream encrypts its store with

Public keys go into the server's config (:mod:`server_config`); a seed never leaves the
machine of the process it belongs to (a real gateway gets only its own).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import nkeys

from vpp.adapters.nats.permissions import Permissions, Role, inbox_prefix, permissions_for
from vpp.domain.errors import VppError
from vpp.domain.ids import validate_id


class IdentityError(VppError):
    pass


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: Role
    public_key: str
    inbox_prefix: str
    gateway_id: str | None = None

    @property
    def permissions(self) -> Permissions:
        return permissions_for(self.role, self.name, self.gateway_id)


def new_seed() -> bytes:
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def public_key_of(seed: bytes) -> str:
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to a new owner-only file (never world-readable, not even briefly)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


class IdentityStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        self._index = root / "identities.json"

    def seed_file(self, name: str) -> Path:
        return self.root / "seeds" / f"{validate_id(name, 'identity name')}.nk"

    def identities(self) -> list[Identity]:
        if not self._index.exists():
            return []
        rows = json.loads(self._index.read_text())["identities"]
        return [Identity(**{**row, "role": Role(row["role"])}) for row in rows]

    def get(self, name: str) -> Identity:
        for ident in self.identities():
            if ident.name == name:
                return ident
        raise IdentityError(f"no NATS identity {name!r} in {self.root}")

    def add(self, name: str, role: Role, gateway_id: str | None = None) -> Identity:
        """Create ``name`` (idempotent: an existing identity of the same role is kept)."""
        existing = {i.name: i for i in self.identities()}
        if name in existing:
            ident = existing[name]
            if ident.role is not role or ident.gateway_id != gateway_id:
                raise IdentityError(f"identity {name!r} exists as {ident.role} {ident.gateway_id}")
            return ident
        if role is Role.GATEWAY and gateway_id is None:
            raise IdentityError("a gateway identity needs its gateway_id")
        seed = new_seed()
        write_secret(self.seed_file(name), seed)
        ident = Identity(name, role, public_key_of(seed), inbox_prefix(name), gateway_id)
        self._save([*existing.values(), ident])
        return ident

    def remove(self, name: str) -> None:
        """Forget ``name`` (regenerate the server config afterwards to revoke it)."""
        kept = [i for i in self.identities() if i.name != name]
        self._save(kept)
        self.seed_file(name).unlink(missing_ok=True)

    def _save(self, identities: list[Identity]) -> None:
        rows = [{**asdict(i), "role": i.role.value} for i in identities]
        tmp = self._index.with_suffix(".tmp")
        tmp.write_text(json.dumps({"identities": rows}, indent=2) + "\n")
        tmp.replace(self._index)

    def jetstream_key(self) -> str:
        """The store's encryption key (made on first use, owner-only)."""
        path = self.root / "jetstream.key"
        if not path.exists():
            # letters and hex digits only: nats-server parses the variable's value as a
            # config value (a leading digit or '-' reads as a number or a date)
            write_secret(path, f"vppk{secrets.token_hex(32)}".encode())
        return path.read_text().strip()
