"""The one exception root of vpp; adapters translate library errors into these."""

from __future__ import annotations


class VppError(Exception):
    """Root of every error vpp raises on purpose."""


class InvalidValue(VppError, ValueError):
    """A value violates a domain rule (bad id, negative capacity, naive datetime …)."""


class UnknownDer(VppError, LookupError):
    """A DER id that is not registered."""
