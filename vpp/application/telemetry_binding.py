"""Telemetry bound to its gateway: a reading counts only if its DER is registered behind
the gateway whose subject carried it (issue 11: a gateway must not speak for another's
DERs, and nobody for a DER the registry does not know).

The check runs for every message on the ingest hot path, so it reads an in-memory map
der → gateway, loaded from the registry once and then kept current cheaply: the DERs of
a message that the map does not place behind its gateway are looked up again — at most
once every ``lookup_every_s``, so a DER registered a moment ago is accepted about a
second later while a flood of forged readings costs at most one small query a second —
and the whole map is reloaded every ``reload_every_s`` (a DER moved to another gateway
or removed is noticed then, at the latest).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vpp.application.ports import DerGateways
from vpp.domain.telemetry import TelemetryItem, item_der_id

#: at most this many DERs are named in a refusal's reason; the rest are counted
NAMED_IN_REASON = 5


@dataclass(frozen=True, slots=True)
class Refusal:
    """Items of one message that are not projected, and why."""

    keys: frozenset[str]  # the DER ids whose items were refused
    items: int
    reason: str


class GatewayBinding:
    """Splits a gateway's readings into those of its own registered DERs and the rest."""

    def __init__(
        self,
        registry: DerGateways,
        *,
        lookup_every_s: float = 1.0,
        reload_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.lookup_every_s = lookup_every_s
        self.reload_every_s = reload_every_s
        self._clock = clock
        self._owners: dict[str, str] = {}
        self._loaded_at = -float("inf")
        self._looked_up_at = -float("inf")
        self.lookups = 0  # registry queries for DERs the map did not place (not reloads)

    async def screen(
        self, gateway: str, rows: Sequence[TelemetryItem]
    ) -> tuple[Sequence[TelemetryItem], Refusal | None]:
        """``rows`` as they came when all belong to ``gateway`` (the common case, one set
        and a dict look-up per DER), else the kept rows and the refusal of the others.
        Health statements are screened like readings: a gateway speaks only for its own
        DERs.  A registry that cannot be read raises: the caller retries, nothing is
        decided."""
        if self._clock() - self._loaded_at >= self.reload_every_s:
            await self._reload()
        owners = self._owners
        strangers = [d for d in {item_der_id(r) for r in rows} if owners.get(d) != gateway]
        if not strangers:
            return rows, None
        if self._clock() - self._looked_up_at >= self.lookup_every_s:
            await self._look_up(strangers)
            strangers = [d for d in strangers if owners.get(d) != gateway]
            if not strangers:
                return rows, None
        refused = frozenset(strangers)
        kept = [r for r in rows if item_der_id(r) not in refused]
        return kept, Refusal(refused, len(rows) - len(kept), self._reason(gateway, refused))

    async def _reload(self) -> None:
        started = self._clock()
        self._owners = await asyncio.to_thread(self.registry.der_gateways, None)
        self._loaded_at = self._looked_up_at = started

    async def _look_up(self, der_ids: list[str]) -> None:
        started = self._clock()
        found = await asyncio.to_thread(self.registry.der_gateways, der_ids)
        self._looked_up_at = started
        self.lookups += 1
        for d in der_ids:
            if d in found:
                self._owners[d] = found[d]
            else:
                self._owners.pop(d, None)

    def _reason(self, gateway: str, refused: frozenset[str]) -> str:
        named = sorted(refused)[:NAMED_IN_REASON]
        parts = []
        for d in named:
            owner = self._owners.get(d)
            if owner is None:
                parts.append(f"DER {d} is not registered (reading from {gateway})")
            else:
                parts.append(f"DER {d} is registered behind {owner}, not {gateway}")
        if len(refused) > len(named):
            parts.append(f"and {len(refused) - len(named)} more DERs")
        return "; ".join(parts)
