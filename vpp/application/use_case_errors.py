"""Errors the operator-facing use cases raise; the API maps each to one HTTP problem.

Use cases never speak HTTP: they raise these (or :class:`vpp.domain.InvalidValue` for a
value that breaks a domain rule), and ``vpp.adapters.api.problems`` turns them into RFC 9457
problem documents in one place.
"""

from __future__ import annotations

from vpp.domain.errors import VppError


class NotAuthenticated(VppError):
    """No credentials, or credentials that do not name a valid, unrevoked key (401).

    ``reason`` says which (``missing-key``, ``malformed-key``, ``unknown-key``,
    ``wrong-secret``, ``revoked-key``) for metrics and logs; the message a caller sees does
    not tell an unknown key from a wrong secret.  ``key_id`` is the id the caller named,
    when it could be read (never the secret).
    """

    def __init__(self, message: str, *, reason: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.key_id = key_id


class PermissionDenied(VppError):
    """A valid key without the scope the operation needs (403)."""

    def __init__(self, scope: str, key_id: str | None = None) -> None:
        super().__init__(f"this API key lacks the {scope!r} scope")
        self.scope = scope
        self.key_id = key_id


class RateLimited(VppError):
    """A key that sent more requests than its rate limit allows (429); try again later."""

    def __init__(self, key_id: str, retry_after_s: float) -> None:
        super().__init__(f"rate limit of this API key exceeded; retry in {retry_after_s:.1f} s")
        self.key_id = key_id
        self.retry_after_s = retry_after_s


class NotFound(VppError, LookupError):
    """Unknown, or owned by another tenant: both look the same from outside (404)."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class Conflict(VppError):
    """The request contradicts the resource's current state (409)."""


class Refused(VppError):
    """A well-formed request the service will not carry out, with the reason (422)."""
