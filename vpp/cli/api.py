from __future__ import annotations

from vpp.cli._notyet import not_built


def api() -> None:
    """Serve the operator HTTP API (not built yet)."""
    not_built("api", "the aggregation core issue")
