"""Refused requests, counted and logged: authentication failures (401), missing scopes
(403) and rate limits (429).

``vpp_api_refusals_total{reason, route}`` counts them in the app's registry; each is one
log line on ``vpp.api.refusals`` with the same fields as ``key=value`` text and as
``extra`` attributes (for a JSON log formatter).  The key id appears when the caller named
one; the secret never does.
"""

from __future__ import annotations

import logging

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

from vpp.application.use_case_errors import NotAuthenticated, PermissionDenied, RateLimited

log = logging.getLogger("vpp.api.refusals")

Refusal = NotAuthenticated | PermissionDenied | RateLimited


def refusal_reason(exc: Refusal) -> str:
    """The ``reason`` label: the 401 reasons of :class:`NotAuthenticated`,
    ``missing-scope`` or ``rate-limited``."""
    if isinstance(exc, NotAuthenticated):
        return exc.reason
    if isinstance(exc, PermissionDenied):
        return "missing-scope"
    return "rate-limited"


class Refusals:
    """Counts and logs each refused request."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            "vpp_api_refusals",
            "Requests refused: authentication (401), scope (403), rate limit (429), by reason",
            ["reason", "route"],
            registry=registry,
        )

    def record(self, request: Request, exc: Refusal) -> None:
        reason = refusal_reason(exc)
        route = getattr(request.scope.get("route"), "path", None) or "unmatched"
        self.counter.labels(reason, route).inc()
        fields = {
            "reason": reason,
            "route": route,
            "method": request.method,
            "key_id": exc.key_id or "-",
            "client": request.client.host if request.client else "-",
        }
        if isinstance(exc, PermissionDenied):
            fields["scope"] = exc.scope
        text = " ".join(f"{k}={v}" for k, v in fields.items())
        log.warning("api request refused %s", text, extra={"refusal": fields})
