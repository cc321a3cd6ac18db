"""vpp — virtual power plant aggregation.

Pure core: :mod:`vpp.domain` (values, fleet and plant aggregation) and
:mod:`vpp.optimizer` (dispatch).  Adapters around it talk IEC 61850, SunSpec Modbus,
NATS JetStream, SQL stores and HTTP.
"""

from __future__ import annotations

__version__ = "0.1.0"
