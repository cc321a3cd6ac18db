"""Device state beyond 701/713, decoded from a SunSpec block into reading fields.

* 122 ``WAval`` (standard, SunSpec model 122 "Measurements_Status"): the power a PV
  could inject uncurtailed → ``p_avail_w``.
* 64960 (vpp's model, :mod:`vpp.codecs.sunspec_vpp`): a heat pump's ``ThmSoC`` →
  ``soc`` (else, from ``Tmp`` within ``TmpMin`` .. ``TmpMax``) and ``Tmp`` → ``temp_c``;
  a flexible load's ``EnSoC`` → ``soc``, ``WhRem`` → ``energy_wh`` and ``TmRem`` →
  ``deadline`` (the reading's time plus the seconds left).

A point the device marks not implemented is left out of the reading, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vpp.codecs.sunspec import ModelBlock
from vpp.codecs.sunspec_vpp import VPP_STATE_MODEL_ID
from vpp.domain.der import DerKind

#: the spans the driver reads every poll: (model id, first point, last point)
AVAILABLE_SPAN = (122, "WAval", "WAval_SF")
STATE_SPAN = (VPP_STATE_MODEL_ID, "ThmSoC", "WH_SF")


@dataclass(frozen=True, slots=True)
class DeviceState:
    """The reading fields these blocks fill (``None``: not said)."""

    soc: float | None = None
    energy_wh: float | None = None
    p_avail_w: float | None = None
    temp_c: float | None = None
    deadline: datetime | None = None


def available(block: ModelBlock, sfs: Mapping[str, int], state: DeviceState) -> DeviceState:
    """122 ``WAval`` in W (at least 0) as ``p_avail_w``; unchanged when not implemented."""
    value = block.value("WAval", sfs)
    return state if value is None else replace(state, p_avail_w=max(0.0, value))


def _fraction(pct: float | None) -> float | None:
    return None if pct is None else min(1.0, max(0.0, pct / 100.0))


def thermal_or_job(
    kind: DerKind, block: ModelBlock, sfs: Mapping[str, int], ts: datetime, state: DeviceState
) -> DeviceState:
    """``state`` with what a 64960 block says (heat pump or flexible load)."""
    if kind is DerKind.HEAT_PUMP:
        tmp = block.value("Tmp", sfs)
        soc = _fraction(block.value("ThmSoC", sfs))
        lo, hi = block.value("TmpMin", sfs), block.value("TmpMax", sfs)
        if soc is None and tmp is not None and lo is not None and hi is not None and hi > lo:
            soc = min(1.0, max(0.0, (tmp - lo) / (hi - lo)))
        return replace(state, soc=soc, temp_c=tmp)
    if kind is DerKind.FLEXIBLE_LOAD:
        remaining = block.value("WhRem", sfs)
        left_s = block.value("TmRem", sfs)
        return replace(
            state,
            soc=_fraction(block.value("EnSoC", sfs)),
            energy_wh=None if remaining is None else max(0.0, remaining),
            deadline=None if left_s is None else ts + timedelta(seconds=max(0.0, left_s)),
        )
    return state
