from __future__ import annotations

from vpp.cli._notyet import not_built


def playground() -> None:
    """Run the whole stack on this machine."""
    not_built("playground", "the foundation issue")
