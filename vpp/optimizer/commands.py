"""Plans become setpoint commands for the dispatcher: one per DER and validity window.

Command ids are derived from their natural key (dispatch, DER, sequence, window start), so
re-planning the same thing yields the same ids and NATS' ``Nats-Msg-Id`` dedupes retries.
Sequence numbers are the caller's: the dispatcher owns the per-DER counter and passes the
next free number (``seq_of``); successive steps of a horizon plan take consecutive numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from vpp.domain import Der, SetpointCommand
from vpp.optimizer.fleet_allocation import FleetAllocation
from vpp.optimizer.plan import HorizonPlan


def command_id(dispatch_id: str | None, der_id: str, seq: int, valid_from: datetime) -> str:
    key = f"{dispatch_id or '-'}|{der_id}|{seq}|{valid_from.isoformat()}"
    return "cmd-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def allocation_commands(
    allocation: FleetAllocation,
    ders: Mapping[str, Der],
    *,
    valid_from: datetime,
    valid_for: timedelta,
    seq_of: Callable[[str], int],
    dispatch_id: str | None = None,
) -> list[SetpointCommand]:
    """One command per allocated DER, valid over ``[valid_from, valid_from + valid_for)``.

    DERs missing from ``ders`` (no gateway known) are skipped."""
    out: list[SetpointCommand] = []
    for der_id, p_w in allocation.setpoints_w.items():
        der = ders.get(der_id)
        if der is None:
            continue
        seq = seq_of(der_id)
        out.append(
            SetpointCommand(
                command_id=command_id(dispatch_id, der_id, seq, valid_from),
                der_id=der_id,
                gateway_id=der.gateway_id,
                seq=seq,
                p_w=float(p_w),
                valid_from=valid_from,
                valid_until=valid_from + valid_for,
                dispatch_id=dispatch_id,
            )
        )
    return out


def plan_commands(
    plan: HorizonPlan,
    ders: Mapping[str, Der],
    *,
    seq_of: Callable[[str], int],
    dispatch_id: str | None = None,
    steps: range | None = None,
    merge_equal: bool = True,
) -> list[SetpointCommand]:
    """Commands for the steps of a horizon plan (default: all), per DER in time order.

    With ``merge_equal`` consecutive steps with the same setpoint (to 1 mW) become one
    command with a longer window, which keeps the command stream small for idle units.
    A plan without a usable solution gives no commands."""
    if not plan.status.has_plan:
        return []
    chosen = steps if steps is not None else range(plan.p_w.shape[1])
    out: list[SetpointCommand] = []
    for i, der_id in enumerate(plan.der_ids):
        der = ders.get(der_id)
        if der is None:
            continue
        seq = seq_of(der_id)
        runs: list[tuple[int, int, float]] = []
        for t in chosen:
            p = round(float(plan.p_w[i, t]), 3)
            if merge_equal and runs and runs[-1][1] == t and runs[-1][2] == p:
                runs[-1] = (runs[-1][0], t + 1, p)
            else:
                runs.append((t, t + 1, p))
        for first, end, p in runs:
            start = plan.start + first * plan.step
            out.append(
                SetpointCommand(
                    command_id=command_id(dispatch_id, der_id, seq, start),
                    der_id=der_id,
                    gateway_id=der.gateway_id,
                    seq=seq,
                    p_w=p,
                    valid_from=start,
                    valid_until=plan.start + end * plan.step,
                    dispatch_id=dispatch_id,
                )
            )
            seq += 1
    return out
