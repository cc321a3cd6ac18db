"""Command-signing keys for tests: a real keyring in a test's directory, its trusted-keys
file (what a gateway pins) and the dispatcher's signer over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vpp.adapters.crypto import Ed25519CommandSigner, SigningKeyring, export_public


@dataclass(frozen=True)
class CommandKeys:
    directory: Path  # the keyring (private keys)
    trusted_file: Path  # the public keys a gateway pins
    signer: Ed25519CommandSigner

    def headers(self, subject: str, payload: bytes) -> dict[str, str]:
        return self.signer.sign(subject, payload)

    def rotated(self) -> CommandKeys:
        """A new current key in the same keyring; the trusted file lists old and new."""
        ring = SigningKeyring.rotate(self.directory)
        export_public(self.directory, self.trusted_file)
        return CommandKeys(self.directory, self.trusted_file, Ed25519CommandSigner(ring))


def make_command_keys(directory: Path) -> CommandKeys:
    """A fresh keyring in ``directory/keyring`` and ``directory/command-keys.pub``."""
    ring = SigningKeyring.create(directory / "keyring")
    trusted = directory / "command-keys.pub"
    export_public(ring.directory, trusted)
    return CommandKeys(ring.directory, trusted, Ed25519CommandSigner(ring))
