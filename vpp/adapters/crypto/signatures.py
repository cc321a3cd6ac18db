"""Sign a command with the keyring's current key; verify it against pinned public keys.

The signed bytes are ``subject + b"\\n" + payload``: the subject names the gateway and the
DER, so a signature does not travel to another subject.  The headers are
``Vpp-Key-Id`` (which key) and ``Vpp-Signature`` (base64 of the 64-byte signature).

Keys are kept and signed with ``cryptography``; the gateway verifies with PyNaCl
(libsodium), which took 75 µs per verification here against 146 µs for ``cryptography``
in the same process: verification is on the gateway's command path for every command.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from vpp.adapters.crypto.keyring import SigningKeyring
from vpp.application.ports.signing import RefusalKind, SignatureRefused

KEY_ID_HEADER = "Vpp-Key-Id"
SIGNATURE_HEADER = "Vpp-Signature"


def signed_bytes(subject: str, payload: bytes) -> bytes:
    return subject.encode() + b"\n" + payload


class Ed25519CommandSigner:
    """Implements :class:`vpp.application.ports.CommandSigner` with the current key."""

    def __init__(self, keyring: SigningKeyring) -> None:
        self.key_id = keyring.current_id
        self._key = keyring.current

    def sign(self, subject: str, payload: bytes) -> dict[str, str]:
        sig = self._key.sign(signed_bytes(subject, payload))
        return {KEY_ID_HEADER: self.key_id, SIGNATURE_HEADER: base64.b64encode(sig).decode()}


class Ed25519CommandVerifier:
    """Implements :class:`vpp.application.ports.CommandVerifier` against pinned keys."""

    def __init__(self, trusted: Mapping[str, Ed25519PublicKey]) -> None:
        self.trusted = {
            kid: VerifyKey(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
            for kid, key in trusted.items()
        }

    def verify(self, subject: str, payload: bytes, headers: Mapping[str, str] | None) -> str:
        kid = (headers or {}).get(KEY_ID_HEADER)
        sig_text = (headers or {}).get(SIGNATURE_HEADER)
        if not kid or not sig_text:
            raise SignatureRefused(RefusalKind.UNSIGNED, "unsigned")
        key = self.trusted.get(kid)
        if key is None:
            shown = "".join(ch if ch.isalnum() or ch in "-_" else "?" for ch in kid[:32])
            raise SignatureRefused(RefusalKind.UNKNOWN_KEY, f"unknown key {shown}")
        try:
            key.verify(signed_bytes(subject, payload), base64.b64decode(sig_text, validate=True))
        except (BadSignatureError, ValueError, binascii.Error) as exc:
            raise SignatureRefused(RefusalKind.BAD_SIGNATURE, "bad signature") from exc
        return kid
