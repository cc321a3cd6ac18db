"""The field gateway use case (DESIGN.md, "Gateway"): depends on ports and the domain only."""

from vpp.application.gateway.command_handling import GatewayCommandHandler
from vpp.application.gateway.device_runner import DeviceRunner
from vpp.application.gateway.metrics import GatewayMetrics
from vpp.application.gateway.ports import DeviceSpec, SystemClock
from vpp.application.gateway.service import FieldGateway

__all__ = [
    "DeviceRunner",
    "DeviceSpec",
    "FieldGateway",
    "GatewayCommandHandler",
    "GatewayMetrics",
    "SystemClock",
]
