"""Command-signing keys: the dispatcher's keyring (``<data dir>/command-signing`` unless
told otherwise) and the trusted-keys file gateways pin (``vpp keys``)."""

from __future__ import annotations

import logging
from pathlib import Path

from vpp.adapters.crypto import (
    Ed25519CommandSigner,
    KeyringError,
    SigningKeyring,
    export_public,
)
from vpp.adapters.store.engine import data_dir

log = logging.getLogger(__name__)

__all__ = [
    "KeyringError",
    "create_keys",
    "default_signing_dir",
    "dispatcher_signer",
    "export_keys",
    "rotate_keys",
]


def default_signing_dir() -> Path:
    return data_dir() / "command-signing"


def create_keys(directory: Path) -> str:
    """A new keyring; the id of its key."""
    return SigningKeyring.create(directory).current_id


def rotate_keys(directory: Path) -> str:
    """A new current key (old ones kept); its id."""
    return SigningKeyring.rotate(directory).current_id


def export_keys(directory: Path, output: Path | None = None) -> str:
    """The trusted-keys text of a keyring (written to ``output`` if given)."""
    return export_public(directory, output)


def dispatcher_signer(directory: Path | None) -> Ed25519CommandSigner:
    """The dispatcher's signer; a keyring with a first key is created if there is none."""
    directory = directory or default_signing_dir()
    ring = SigningKeyring.load_or_create(directory)
    log.info("signing commands with key %s from %s", ring.current_id, directory)
    return Ed25519CommandSigner(ring)
