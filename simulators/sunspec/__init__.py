"""SunSpec Modbus TCP simulators: a register image from pysunspec2, served by pymodbus."""

from __future__ import annotations

from simulators.sunspec.device import SunSpecDevice
from simulators.sunspec.server import SunSpecServer

__all__ = ["SunSpecDevice", "SunSpecServer"]
