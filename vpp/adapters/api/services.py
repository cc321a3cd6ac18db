"""The use cases the HTTP API serves, built by the composition root (``vpp.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from vpp.application.auth import ApiKeys
from vpp.application.dispatch_requests import DispatchRequests
from vpp.application.flexibility import PlantFlexibility
from vpp.application.queries import OperatorQueries
from vpp.application.registry import TenantRegistry


@dataclass(frozen=True, slots=True)
class ApiServices:
    keys: ApiKeys
    queries: OperatorQueries
    dispatches: DispatchRequests
    registry: TenantRegistry
    flexibility: PlantFlexibility
