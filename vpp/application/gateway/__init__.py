"""The field gateway use case (DESIGN.md, "Gateway"): depends on ports and the domain only."""

from vpp.application.gateway.command_handling import GatewayCommandHandler
from vpp.application.gateway.device_runner import DeviceRunner
from vpp.application.gateway.service import FieldGateway

__all__ = [
    "DeviceRunner",
    "FieldGateway",
    "GatewayCommandHandler",
]
