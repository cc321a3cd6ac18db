"""An IEC 61850 MMS server (libiec61850 through pyiec61850-ng) for one simulated DER.

The data model comes from the kind's ICD file; :meth:`IecServer.publish` writes the
physics into it (value, quality, timestamp), which drives the reports.  Controls:

- ``DRCC1.OutWSet`` (APC): active-power setpoint in W; outside the ratings it fails.
- ``DRCC1.DERStr`` (SPC): true starts, false stops the unit.
- ``DRCC1.WSetEna`` (SPC): false hands the unit back to its default (autonomous) mode;
  true re-applies the last setpoint (operating ``OutWSet`` sets it true).
- ``DRCC1.OutWSetRvrtTms`` (ING, FC SP, writable; a vpp extension modelled on SunSpec 704
  ``WSetRvrtTms``): seconds after the last setpoint operate (or a write of this setting
  while a setpoint is in force) at which the unit reverts to its default mode as with
  ``WSetEna`` false; 0 = never.  The deadline is checked at every sweep and publish.

Both are built select-before-operate capable; the ``ctlModel`` in force comes from the
device configuration (default: the file's ``Val``) and clients may change it by writing
``ctlModel`` (FC CF), which the server picks up at its next publish.  Ratings are ASG
settings in ``DRAT1`` (FC SP, read-only).

Threading: servers run threadless (``IedServer_startThreadless``).  The owner calls
:meth:`IecServer.serve_once` often (a worker sweeps all its servers every few ms); it
handles whatever arrived, control handlers included, on the caller's thread.  A
libiec61850 server thread per device would wake every millisecond: 100 idle servers cost
half a core that way, against a few percent swept.  Shutdown order matters (see FACTS):
stop, disown handlers, destroy server, destroy model.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pyiec61850.pyiec61850 as iec

from simulators.iec61850.builder import BuiltModel, build_model
from simulators.iec61850.cdc import CTL_MODELS, RUNTIME_CTL
from simulators.iec61850.publish import Publisher
from simulators.iec61850.write_access import accept_int_writes
from simulators.physics import DerModel
from vpp.codecs.scl import SclDocument
from vpp.domain import Quality

log = logging.getLogger(__name__)

_QUALITY = {
    Quality.GOOD: iec.QUALITY_VALIDITY_GOOD,
    Quality.QUESTIONABLE: iec.QUALITY_VALIDITY_QUESTIONABLE,
    Quality.INVALID: iec.QUALITY_VALIDITY_INVALID,
}
CONTROLS = ("DRCC1.OutWSet", "DRCC1.DERStr", "DRCC1.WSetEna")
REVERSION = "DRCC1.OutWSetRvrtTms"
MAX_REVERSION_S = 7 * 86400
_FAILED_STARTS: list[tuple[object, object]] = []  # kept alive until the process exits


# pyiec61850's SWIG classes are untyped (Any), so subclassing them needs [misc].
class _ControlHandler(iec.ControlHandlerForPython):  # type: ignore[misc]
    """Receives an operate on the server's thread and hands it to the device."""

    def __init__(self, server: IecServer, path: str) -> None:
        super().__init__()
        self.server = server
        self.path = path

    def trigger(self) -> None:
        try:
            ok = self.server.on_operate(self.path, self._libiec61850_mms_value)
        except Exception:  # a handler must never raise into C
            log.exception("control %s failed", self.path)
            ok = False
        self._libiec61850_control_handler_result = (
            iec.CONTROL_RESULT_OK if ok else iec.CONTROL_RESULT_FAILED
        )


class _CheckHandler(iec.CheckHandlerForPython):  # type: ignore[misc]  # SWIG base, as above
    """Refuses an out-of-range value before select-with-value or operate."""

    def __init__(self, server: IecServer, path: str) -> None:
        super().__init__()
        self.server = server
        self.path = path

    def trigger(self) -> None:
        try:
            ok = self.server.check_value(self.path, self._libiec61850_mms_value)
        except Exception:
            log.exception("check of %s failed", self.path)
            ok = False
        self._libiec61850_check_handler_result = (
            iec.CONTROL_ACCEPTED if ok else iec.CONTROL_VALUE_INVALID
        )


class IecServer:
    def __init__(
        self,
        model: DerModel,
        doc: SclDocument,
        ied_name: str,
        *,
        host: str = "127.0.0.1",
        port: int = 102,
        ctl_model: str | None = None,
    ) -> None:
        self.model = model
        self.ied_name = ied_name
        self.host = host
        self.port = port
        self.built: BuiltModel = build_model(doc, ied_name)
        self.ctl_model = CTL_MODELS[ctl_model] if ctl_model else None
        self._server: object | None = None
        self._handlers: list[_ControlHandler | _CheckHandler] = []
        self._subscribers: list[object] = []
        self._ctl_in_force: dict[str, int] = {}
        self.last_setpoint_w: float | None = None
        self.reversion_s = 0  # DRCC1.OutWSetRvrtTms.setVal
        self.revert_at: datetime | None = None  # when the setpoint in force lapses
        self.reversions = 0
        self._write_handlers: list[object] = []  # C callbacks, alive as long as the server
        self.publisher = Publisher(self)

    @property
    def ld_name(self) -> str:
        return self.built.ld_name

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Listen, then subscribe the control handlers.

        If the port cannot be bound the server is left allocated on purpose (libiec61850
        crashes destroying a server whose start failed) and :class:`OSError` is raised;
        no handler is registered yet, so a retry under the same IED name is safe.
        """
        srv = iec.IedServer_create(self.built.handle)
        if srv is None:
            raise RuntimeError(f"{self.ied_name}: IedServer_create failed")
        iec.IedServer_setWriteAccessPolicy(srv, iec.IEC61850_FC_CF, iec.ACCESS_POLICY_ALLOW)
        iec.IedServer_setWriteAccessPolicy(srv, iec.IEC61850_FC_SP, iec.ACCESS_POLICY_DENY)
        iec.IedServer_setLocalIpAddress(srv, self.host)
        self._server = srv
        self.publisher.write_static()
        iec.IedServer_startThreadless(srv, self.port)
        if not iec.IedServer_isRunning(srv):
            self._server = None
            _FAILED_STARTS.append((srv, self.built))  # never destroyed: see above
            raise OSError(f"{self.ied_name}: cannot listen on {self.host}:{self.port}")
        for path in CONTROLS:
            if path not in self.built.data_objects:
                continue
            configured = self.built.initial.get(f"{path}.ctlModel", "direct-with-normal-security")
            self._set_ctl_model(path, self.ctl_model or CTL_MODELS.get(configured, 1))
            handler = _ControlHandler(self, path)
            check = _CheckHandler(self, path)
            sub = iec.ControlSubscriberForPython()
            sub.setIedServer(srv)
            sub.setControlObject(self.built.data_objects[path])
            sub.setControlHandler(handler)
            sub.setCheckHandler(check)
            sub.subscribe()
            self._handlers += [handler, check]
            self._subscribers.append(sub)
        if self.built.has(f"{REVERSION}.setVal"):
            attr = self.built.attribute(f"{REVERSION}.setVal")
            self._write_handlers.append(accept_int_writes(srv, attr, self.on_reversion_write))

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None and iec.IedServer_isRunning(srv):
            iec.IedServer_stopThreadless(srv)
        for handler in self._handlers:
            handler.__disown__()
        self._handlers.clear()
        self._subscribers.clear()
        if srv is not None:
            iec.IedServer_destroy(srv)
        self._write_handlers.clear()
        self.built.destroy()

    def serve_once(self) -> None:
        """Handle what arrived (connections, requests, controls) and report timers."""
        srv = self._server
        if srv is None:
            return
        if iec.IedServer_waitReady(srv, 0) > 0:
            iec.IedServer_processIncomingData(srv)
        iec.IedServer_performPeriodicTasks(srv)
        if self.revert_at is not None:
            self.expire_reversion(datetime.now(UTC))

    # -- controls -------------------------------------------------------------------

    @staticmethod
    def _setpoint_w(value: object) -> float:
        if iec.MmsValue_getType(value) == iec.MMS_STRUCTURE:
            value = iec.MmsValue_getElement(value, 0)
        return float(iec.MmsValue_toFloat(value))

    def check_value(self, path: str, value: object) -> bool:
        """A setpoint must lie within the ratings; start/stop is always acceptable."""
        if path == "DRCC1.OutWSet" and value is not None:
            r = self.model.ratings
            return r.p_min_w <= self._setpoint_w(value) <= r.p_max_w
        return True

    def on_operate(self, path: str, value: object) -> bool:
        if path == "DRCC1.OutWSet":
            if not self.check_value(path, value):
                return False
            self.last_setpoint_w = self._setpoint_w(value)
            self.model.set_setpoint(self.last_setpoint_w)
            self._arm_reversion()
            return True
        if path == "DRCC1.WSetEna":
            on = bool(iec.MmsValue_getBoolean(value))
            self.model.set_setpoint(self.last_setpoint_w if on else None)
            self._arm_reversion()
            return True
        if path == "DRCC1.DERStr":
            self.model.set_enabled(bool(iec.MmsValue_getBoolean(value)))
            return True
        return False

    # -- reversion (as SunSpec 704 WSetRvrtTms) --------------------------------------

    def on_reversion_write(self, seconds: int) -> bool:
        """A client wrote ``OutWSetRvrtTms``: accept 0..7 days; re-arms a running timer."""
        if not 0 <= seconds <= MAX_REVERSION_S:
            return False
        self.reversion_s = seconds
        self._arm_reversion()
        return True

    def _arm_reversion(self, now: datetime | None = None) -> None:
        on = self.model.setpoint_w is not None and self.reversion_s > 0
        now = now or datetime.now(UTC)
        self.revert_at = now + timedelta(seconds=self.reversion_s) if on else None

    def expire_reversion(self, now: datetime) -> bool:
        """Back to the default mode (as ``WSetEna`` false) once the reversion time passed."""
        if self.revert_at is None or now < self.revert_at:
            return False
        self.revert_at = None
        self.model.set_setpoint(None)
        self.reversions += 1
        log.info("%s: setpoint not refreshed within %d s, back to default", self.ied_name,
                 self.reversion_s)  # fmt: skip
        return True

    def _set_ctl_model(self, path: str, ctl: int) -> None:
        if ctl not in RUNTIME_CTL or self._server is None:
            return
        iec.IedServer_updateCtlModel(self._server, self.built.data_objects[path], RUNTIME_CTL[ctl])
        self._ctl_in_force[path] = ctl

    def follow_ctl_model_writes(self) -> None:
        """Apply a ``ctlModel`` a client wrote (CF) since the last publish."""
        srv = self._server
        for path, in_force in list(self._ctl_in_force.items()):
            value = iec.IedServer_getAttributeValue(srv, self.built.attribute(f"{path}.ctlModel"))
            written = int(iec.MmsValue_toInt32(value)) if value is not None else in_force
            if written != in_force:
                if written in RUNTIME_CTL:
                    self._set_ctl_model(path, written)
                else:  # unsupported model: put the one in force back
                    self._set_ctl_model(path, in_force)

    # -- values ---------------------------------------------------------------------

    def publish(self, now: datetime) -> None:
        """Write the device's state into the data model (drives the reports)."""
        if self._server is None:
            return
        self.follow_ctl_model_writes()
        self.expire_reversion(now)
        self.publisher.write(now, _QUALITY)

    @property
    def server(self) -> object | None:
        return self._server
