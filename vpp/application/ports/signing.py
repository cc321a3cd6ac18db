"""Ports of the command signatures: the dispatcher signs every command it sends, the
gateway verifies each one against its pinned keys before anything else looks at it.

The signature covers the subject and the payload, so a signed command for one DER cannot
be re-published on another DER's (or another gateway's) subject.  The NATS adapter carries
the signature in message headers; what the headers are called is the signer's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Protocol

from vpp.domain.errors import VppError


class RefusalKind(StrEnum):
    """Why a command was refused before the command rules saw it (a metric label)."""

    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    REPLAYED = "replayed"
    STALE_EPOCH = "stale_epoch"  # signed, but by a deposed dispatcher (an older epoch)


class SignatureRefused(VppError):
    """A command whose signature does not verify; ``reason`` says why in words
    (``unsigned``, ``unknown key <id>``, ``bad signature``)."""

    def __init__(self, kind: RefusalKind, reason: str) -> None:
        super().__init__(f"signature: {reason}")
        self.kind = kind
        self.reason = reason


class CommandSigner(Protocol):
    def sign(self, subject: str, payload: bytes) -> dict[str, str]:
        """The headers that carry the signature of ``payload`` on ``subject``."""
        ...


class CommandVerifier(Protocol):
    def verify(self, subject: str, payload: bytes, headers: Mapping[str, str] | None) -> str:
        """The id of the key that signed ``payload`` on ``subject``; raises
        :class:`SignatureRefused` if none of the trusted keys did."""
        ...
