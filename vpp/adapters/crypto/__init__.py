"""Ed25519 command signatures (``cryptography``): the dispatcher's keyring, the signer,
and the gateway's verifier against a pinned trusted-keys file."""

from vpp.adapters.crypto.keyring import (
    KeyringError,
    SigningKeyring,
    export_public,
    key_id_of,
    load_trusted_keys,
)
from vpp.adapters.crypto.signatures import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    Ed25519CommandSigner,
    Ed25519CommandVerifier,
)

__all__ = [
    "KEY_ID_HEADER",
    "SIGNATURE_HEADER",
    "Ed25519CommandSigner",
    "Ed25519CommandVerifier",
    "KeyringError",
    "SigningKeyring",
    "export_public",
    "key_id_of",
    "load_trusted_keys",
]
