"""What "back to the default mode" means on a setpoint-only IEC 61850 model (sans-I/O).

The 7-420 Ed.1 style models in ``models/iec61850-7-420/`` control active power with one
APC, ``DRCC1.OutWSet``, and have no "setpoint off".  Releasing a device therefore writes
a setpoint: the configured fixed default, or the value that does what the unit does on
its own as nearly as a setpoint can.  Where the device already runs on its own, nothing
is written, so that a gateway (re)connecting does not pin every device to an
approximation.
"""

from __future__ import annotations

from vpp.domain.der import DerKind

# DGEN1.GnOpSt of the models (a vpp value set, not the standard's): 1 off, 2 standby
# (0 W), 3 running, 4 limited (a setpoint or limit in force).
OP_STATE = "DGEN1.GnOpSt.stVal"
OP_STANDBY, OP_RUNNING = 2, 3


def autonomous_setpoint(kind: DerKind, p_min_w: float, p_max_w: float) -> float:
    """PV at its maximum power point, loads and EV chargers at full draw, a battery idle.
    CHP and heat pumps have no such value; they are stopped (0 W)."""
    if kind is DerKind.PV:
        return p_max_w
    if kind in (DerKind.EV_CHARGER, DerKind.FLEXIBLE_LOAD):
        return p_min_w
    return 0.0


def release_target(
    kind: DerKind, default_p_w: float | None, limits: tuple[float, float] | None
) -> float:
    """The setpoint a release writes; ``limits`` is ``(p_min_w, p_max_w)`` when known."""
    if default_p_w is not None:
        return default_p_w
    p_min, p_max = limits if limits is not None else (0.0, 0.0)
    return autonomous_setpoint(kind, p_min, p_max)


def already_released(op_state: int | None, target_w: float) -> bool:
    """The device says it runs on its own (running, not limited), or stands still while
    the release would ask for 0 W.  Without the data point nothing is assumed."""
    if op_state is None:
        return False
    return op_state == OP_RUNNING or (op_state == OP_STANDBY and target_w == 0.0)
