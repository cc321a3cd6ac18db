"""One MMS association with one device, through open61850 (pure Python, Apache-2.0).

open61850's client is blocking but never holds anything while it waits: requests wait
on a ``threading.Event`` with a timeout, reports arrive on the client's own receive
thread, and several requests may be in flight (matched by invokeID).  That is why it was
chosen over pyiec61850-ng, whose client deadlocks when a report arrives during a
request (see ``docs/iec61850-client.md``).  The driver calls this class from one
dedicated thread per connection, never from the event loop.

Every library error leaves this module as :class:`SessionError`; report callbacks never
raise into the receive thread.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from open61850.data import FloatData, IECData, IntData, StructureData
from open61850.mms import (
    ControlError,
    DataAccessError,
    InformationReport,
    MmsClient,
    MmsError,
    ObjectName,
    decode_report,
    is_report,
    operate,
)
from open61850.mms import rcb as rcbs
from open61850.mms.control import OR_CAT_AUTOMATIC_REMOTE, Origin
from open61850.mms.types import MmsType

from vpp.adapters.iec61850.references import DeviceReferences
from vpp.adapters.iec61850.values import GarbageValue, leaves, number
from vpp.domain.errors import VppError

log = logging.getLogger(__name__)

OnLeaves = Callable[[dict[str, IECData], bytes | None], None]
ORIGIN = Origin(OR_CAT_AUTOMATIC_REMOTE, b"vpp-gateway")


class SessionError(VppError):
    """The device cannot be reached, refused, or answered garbage."""

    def __init__(self, reason: str, *, transient: bool = True) -> None:
        super().__init__(reason)
        self.transient = transient


def float32(x: float) -> float:
    """What a FLOAT32 attribute holds after writing ``x``."""
    return float(struct.unpack("!f", struct.pack("!f", x))[0])


class MmsSession:
    """Blocking calls; use from one thread.  ``on_leaves`` runs on the receive thread."""

    def __init__(
        self, refs: DeviceReferences, host: str, port: int, timeout_s: float, on_leaves: OnLeaves
    ) -> None:
        self.refs = refs
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.on_leaves = on_leaves
        self.client: MmsClient | None = None
        self.members: list[str] = list(refs.data_set_members)
        self.types: dict[str, MmsType] = {}
        self.multipliers: dict[str, int] = {}
        self.ctl_model = refs.setpoint_ctl_model
        self.reversion: str | None = refs.reversion  # None: the device has no such setting
        self.report_block: str | None = None
        self.garbage_reports = 0

    def _name(self, item: str) -> ObjectName:
        return ObjectName(item, self.refs.domain)

    # -- life cycle -------------------------------------------------------------------

    def open(self) -> None:
        """Associate, learn the online shape of every member, the ctlModel in force and
        the unit multipliers."""
        try:
            self.client = MmsClient.connect(
                self.host, self.port, timeout=self.timeout_s, on_information_report=self._report
            )
            if self.refs.data_set:
                online = self.client.get_data_set_members(self._name(self.refs.data_set))
                self.members = [m.item for m in online]
            for item in self.members:
                self.types[item] = self.client.get_type(self._name(item))
            self.ctl_model = self._read_ctl_model()
            self.multipliers = self._read_multipliers()
            self.reversion = self._probe_reversion()
        except Exception as exc:  # refused, unreachable, or bytes no IEC 61850 server sends
            self.close()
            reason = f"connect {self.host}:{self.port}: {type(exc).__name__}: {exc}"
            raise SessionError(reason) from exc

    def _read_ctl_model(self) -> int:
        assert self.client is not None
        ln, _, do = self.refs.setpoint.split("$")
        value = self.client.read(self._name(f"{ln}$CF${do}$ctlModel"))
        if not isinstance(value, IntData):
            raise GarbageValue(f"ctlModel is {value!r}")
        return value.value

    def _probe_reversion(self) -> str | None:
        """The SCL's ``*RvrtTms`` setting if the online model has it (an integer)."""
        assert self.client is not None
        if self.refs.reversion is None:
            return None
        (value,) = self.client.read_many([self._name(self.refs.reversion)])
        if isinstance(value, IntData):
            return self.refs.reversion
        log.warning("%s: no %s online (%r): the gateway alone reverts setpoints",
                    self.refs.domain, self.refs.reversion, value)  # fmt: skip
        return None

    def _read_multipliers(self) -> dict[str, int]:
        """``units.multiplier`` (CF) of each measurement that has one; absent means 10^0."""
        assert self.client is not None
        analogue = [m for m in self.refs.measurements if m.fc == "MX"]
        names = [f"{m.ln}$CF${m.do}$units$multiplier" for m in analogue]
        results = self.client.read_many([self._name(n) for n in names])
        out = {}
        for m, value in zip(analogue, results, strict=True):
            if isinstance(value, IntData) and -24 <= value.value <= 24:
                out[m.key] = value.value
        return out

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                log.debug("close %s:%s failed", self.host, self.port, exc_info=True)

    # -- reports ----------------------------------------------------------------------

    def subscribe(self, integrity_ms: int, entry_id: bytes | None) -> str | None:
        """Enable the first usable buffered RCB on the data set (else an unbuffered one);
        ``None`` when none could be enabled (the driver then reads periodically)."""
        if self.client is None:
            raise SessionError("not connected")
        for group in (self.refs.buffered_rcbs, self.refs.unbuffered_rcbs):
            if not group:
                continue
            try:
                candidates = rcbs.usable(self.client, [self._name(n) for n in group])
            except (MmsError, OSError) as exc:
                log.warning("%s: cannot read RCBs %s: %s", self.refs.domain, group, exc)
                continue
            for status in candidates:
                if self._enable(status, integrity_ms, entry_id):
                    return self.report_block
        return None

    def _enable(self, status: Any, integrity_ms: int, entry_id: bytes | None) -> bool:
        assert self.client is not None
        settings = rcbs.RcbSettings(intg_pd_ms=integrity_ms or None, entry_id=None)
        for resume in (entry_id, None) if entry_id else (None,):
            settings.entry_id = resume if rcbs.is_buffered(status.rcb) else None
            try:
                rcbs.enable(self.client, status.rcb, settings)
                self.report_block = status.rcb.item
                return True
            except (MmsError, OSError) as exc:
                log.info("%s: enabling %s failed: %s", self.refs.domain, status.rcb, exc)
        return False

    def _report(self, message: InformationReport) -> None:
        """Receive thread: decode, name the leaves, hand them over.  Never raises."""
        try:
            if not is_report(message):
                return
            report = decode_report(message)
            if report.data_set is not None and not report.data_set.endswith(self.refs.data_set):
                return  # one RCB is enabled per association: anything else is not ours
            update: dict[str, IECData] = {}
            for entry in report.entries:
                if isinstance(entry.value, DataAccessError) or entry.index >= len(self.members):
                    continue
                item = self.members[entry.index]
                update.update(leaves(item, entry.value, self.types.get(item)))
            if update:
                self.on_leaves(update, report.entry_id)
        except Exception:
            self.garbage_reports += 1
            log.debug("%s: undecodable report", self.refs.domain, exc_info=True)

    # -- requests ---------------------------------------------------------------------

    def read_members(self) -> dict[str, IECData]:
        """Fallback poll: every member in one read, same shape as a report."""
        if self.client is None:
            raise SessionError("not connected")
        try:
            results = self.client.read_many([self._name(i) for i in self.members])
        except (MmsError, OSError) as exc:
            raise SessionError(f"read: {exc}") from exc
        out: dict[str, IECData] = {}
        for item, value in zip(self.members, results, strict=True):
            if not isinstance(value, DataAccessError):
                out.update(leaves(item, value, self.types.get(item)))
        return out

    def read_ratings(self) -> tuple[float, float] | None:
        """(MaxWOut, MaxWIn) from DRAT1 settings, W; ``None`` when the model has none."""
        if self.client is None or self.refs.rating_paths is None:
            return None
        try:
            out_w, in_w = self.client.read_many([self._name(p) for p in self.refs.rating_paths])
            max_out, max_in = number(out_w), number(in_w)
        except (MmsError, OSError, GarbageValue):
            return None
        if max_out is None or max_in is None:
            return None
        return max_out, max_in

    def write_reversion(self, seconds: int) -> None:
        if self.client is None or self.reversion is None:
            return
        try:
            self.client.write(self._name(self.reversion), IntData(seconds))
        except (MmsError, OSError) as exc:
            raise SessionError(f"write {self.reversion}: {exc}") from exc

    def operate_setpoint(self, p_w: float) -> float:
        """Operate the APC (direct or SBO, as the device's ctlModel says); the value sent.

        A refused command is retried once if the device's ctlModel changed since connect
        (a client may write it, FC CF); otherwise the refusal is final."""
        if self.client is None:
            raise SessionError("not connected")
        try:
            try:
                self._operate(p_w)
            except (ControlError, DataAccessError):
                in_force = self._read_ctl_model()
                if in_force == self.ctl_model:
                    raise
                log.info("%s: ctlModel now %s", self.refs.domain, in_force)
                self.ctl_model = in_force
                self._operate(p_w)
        except (ControlError, DataAccessError) as exc:
            raise SessionError(f"operate refused: {exc}", transient=False) from exc
        except (MmsError, OSError) as exc:
            raise SessionError(f"operate: {exc}") from exc
        return float32(p_w)

    def _operate(self, p_w: float) -> None:
        assert self.client is not None
        if self.ctl_model == 0:
            raise ControlError("check", f"{self.refs.setpoint} is status-only")
        operate(
            self.client,
            self._name(self.refs.setpoint),
            StructureData([FloatData(p_w)]),  # ctlVal of an APC: AnalogueValue {f}
            origin=ORIGIN,
            ctl_model=self.ctl_model,
            termination_timeout=self.timeout_s,
        )
