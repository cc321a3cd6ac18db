"""IEC 61850 MMS adapter: the gateway's driver for 7-420 style DER models (open61850)."""

from __future__ import annotations

from vpp.adapters.iec61850.driver import Iec61850Driver

__all__ = ["Iec61850Driver"]
