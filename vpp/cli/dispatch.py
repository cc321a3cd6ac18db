from __future__ import annotations

from vpp.cli._notyet import not_built


def dispatch() -> None:
    """Send a dispatch request and follow it (not built yet)."""
    not_built("dispatch", "the aggregation core issue")
