"""A fleet of minimal IEC 61850 MMS servers (pyiec61850-ng), run as its own process.

A peer for the IEC 61850 client's tests and benchmarks, not a simulated DER (those are
:mod:`simulators.iec61850.server`, with physics and the 7-420 models): it offers what they
do not, libiec61850's own server threads (reports flow without any sweep) and the
enhanced-security control models.  Each server is one IED ``<prefix>D<nnn>`` with one logical device
``DER`` holding LLN0 (data set ``Measurements``, buffered RCB ``brcbMX01``, unbuffered RCB
``urcbMX01``), MMXU1 (TotW, TotVAr, Hz: MV with mag.f, q, t) and DRCC1.OutWSet (APC,
direct-normal or sbo-normal; with ``--ctl enhanced`` direct- and sbo-enhanced, which end
with a CommandTermination).  A command copies ``ctlVal`` into ``OutWSet.mxVal`` and
makes the measured power follow it.  Measurements change every ``--period`` seconds, so
reports flow.

Run: ``python -m simulators.iec61850.minimal_fleet --base-port P --count N --prefix X``; it
prints ``READY <count>`` when all servers listen and stops by itself after ``--duration``
seconds or on SIGTERM/SIGINT.  A server with Python control handlers must not share its
process with a blocking pyiec61850 client (FACTS.md), hence a separate process.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pyiec61850.pyiec61850 as iec

LD_INST = "DER"
MEAS_DO = ("TotW", "TotVAr", "Hz")


class _SetpointHandler(iec.ControlHandlerForPython):  # type: ignore[misc]
    """Runs on the server's own thread: copy ctlVal.f into the device state."""

    def __init__(self, device: TestDevice) -> None:
        iec.ControlHandlerForPython.__init__(self)
        self.device = device

    def trigger(self) -> None:
        try:
            value = self._libiec61850_mms_value
            element = iec.MmsValue_getElement(value, 0)
            self.device.setpoint_w = float(iec.MmsValue_toFloat(element))
            self.device.controls += 1
            self._libiec61850_control_handler_result = iec.CONTROL_RESULT_OK
        except Exception:
            self._libiec61850_control_handler_result = iec.CONTROL_RESULT_FAILED


@dataclass
class TestDevice:
    ied: str
    port: int
    sbo: bool
    enhanced: bool = False
    setpoint_w: float | None = None
    controls: int = 0
    model: Any = None
    server: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)
    handler: Any = None
    subscriber: Any = None

    def build(self) -> None:
        model = iec.IedModel_create(self.ied)
        ld = iec.LogicalDevice_create(LD_INST, model)
        lln0 = iec.LogicalNode_create("LLN0", ld)
        iec.CDC_ENS_create("Mod", iec.toModelNode(lln0), 0)
        iec.CDC_ENS_create("Beh", iec.toModelNode(lln0), 0)
        mmxu = iec.LogicalNode_create("MMXU1", ld)
        for name in MEAS_DO:
            iec.CDC_MV_create(name, iec.toModelNode(mmxu), 0, False)
        drcc = iec.LogicalNode_create("DRCC1", ld)
        if self.enhanced:
            ctl = iec.CDC_CTL_MODEL_SBO_ENHANCED if self.sbo else iec.CDC_CTL_MODEL_DIRECT_ENHANCED
        else:
            ctl = iec.CDC_CTL_MODEL_SBO_NORMAL if self.sbo else iec.CDC_CTL_MODEL_DIRECT_NORMAL
        iec.CDC_APC_create("OutWSet", iec.toModelNode(drcc), 0, ctl, False)
        ds = iec.DataSet_create("Measurements", lln0)
        for name in MEAS_DO:
            iec.DataSetEntry_create(ds, f"MMXU1$MX${name}", -1, None)
        trg = iec.TRG_OPT_DATA_CHANGED | iec.TRG_OPT_QUALITY_CHANGED | iec.TRG_OPT_GI
        trg |= iec.TRG_OPT_INTEGRITY
        opt = iec.RPT_OPT_SEQ_NUM | iec.RPT_OPT_TIME_STAMP | iec.RPT_OPT_REASON_FOR_INCLUSION
        opt |= iec.RPT_OPT_DATA_SET | iec.RPT_OPT_ENTRY_ID | iec.RPT_OPT_CONF_REV
        iec.ReportControlBlock_create(
            "brcbMX01", lln0, f"{self.ied}MX", True, "Measurements", 1, trg, opt, 50, 1000
        )
        iec.ReportControlBlock_create(
            "urcbMX01", lln0, f"{self.ied}MXU", False, "Measurements", 1, trg, opt, 50, 1000
        )
        self.model = model
        for name in MEAS_DO:
            for attr in ("mag.f", "q", "t"):
                self.attrs[f"{name}.{attr}"] = self._attr(f"MMXU1.{name}.{attr}")
        self.attrs["OutWSet.mxVal.f"] = self._attr("DRCC1.OutWSet.mxVal.f")

    def _attr(self, ref: str) -> Any:
        node = iec.IedModel_getModelNodeByObjectReference(self.model, f"{self.ied}{LD_INST}/{ref}")
        if node is None:
            raise RuntimeError(f"{self.ied}: no {ref}")
        return iec.toDataAttribute(node)

    def start(self) -> None:
        self.server = iec.IedServer_create(self.model)
        iec.IedServer_setLocalIpAddress(self.server, "127.0.0.1")  # loopback only
        self.subscriber = iec.ControlSubscriberForPython()
        self.subscriber.setIedServer(self.server)
        node = iec.IedModel_getModelNodeByObjectReference(
            self.model, f"{self.ied}{LD_INST}/DRCC1.OutWSet"
        )
        self.subscriber.setControlObject(iec.toDataObject(node))
        self.handler = _SetpointHandler(self)
        self.subscriber.setControlHandler(self.handler)
        self.subscriber.subscribe()
        iec.IedServer_start(self.server, self.port)
        if not iec.IedServer_isRunning(self.server):
            raise RuntimeError(f"{self.ied}: cannot listen on 127.0.0.1:{self.port}")

    def update(self, step: int) -> None:
        now_ms = int(time.time() * 1000)
        base = self.setpoint_w if self.setpoint_w is not None else 5000.0
        values = {
            "TotW": base + 10.0 * math.sin(step / 3.0),
            "TotVAr": 100.0 * math.cos(step / 5.0),
            "Hz": 50.0 + 0.01 * math.sin(step / 7.0),
        }
        iec.IedServer_lockDataModel(self.server)
        try:
            for name, value in values.items():
                iec.IedServer_updateUTCTimeAttributeValue(
                    self.server, self.attrs[f"{name}.t"], now_ms
                )
                iec.IedServer_updateQuality(self.server, self.attrs[f"{name}.q"], 0)
                iec.IedServer_updateFloatAttributeValue(
                    self.server, self.attrs[f"{name}.mag.f"], value
                )
            if self.setpoint_w is not None:
                iec.IedServer_updateFloatAttributeValue(
                    self.server, self.attrs["OutWSet.mxVal.f"], self.setpoint_w
                )
        finally:
            iec.IedServer_unlockDataModel(self.server)

    def stop(self) -> None:
        if self.server is not None:
            iec.IedServer_stop(self.server)
        if self.handler is not None:
            self.handler.__disown__()
        self.subscriber = None
        if self.server is not None:
            iec.IedServer_destroy(self.server)
            self.server = None
        if self.model is not None:
            iec.IedModel_destroy(self.model)
            self.model = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-port", type=int, required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--prefix", default="T")
    parser.add_argument("--ctl", choices=("direct", "sbo", "mixed", "enhanced"), default="mixed")
    parser.add_argument("--period", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=600.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    devices = []
    for i in range(args.count):
        sbo = args.ctl == "sbo" or (args.ctl in ("mixed", "enhanced") and i % 2 == 1)
        enhanced = args.ctl == "enhanced"
        dev = TestDevice(f"{args.prefix}D{i:03d}", args.base_port + i, sbo, enhanced)
        dev.build()
        dev.start()
        dev.update(0)
        devices.append(dev)
    print(f"READY {len(devices)}", flush=True)
    deadline = time.monotonic() + args.duration
    step = 0
    while not stop.is_set() and time.monotonic() < deadline:
        step += 1
        for dev in devices:
            dev.update(step)
        stop.wait(args.period)
    controls = sum(dev.controls for dev in devices)
    for dev in devices:
        dev.stop()
    print(f"STOPPED controls={controls}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
