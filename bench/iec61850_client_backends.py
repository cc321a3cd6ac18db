"""The three IEC 61850 MMS clients compared by ``bench/iec61850_client_soak.py``.

Each backend does the same four things against one device of the test fleet
(``simulators/iec61850/minimal_fleet.py``): connect, enable the buffered report
``LLN0$BR$brcbMX01`` with a callback, read ``MMXU1.TotW`` (MX) and operate the APC
``DRCC1.OutWSet`` (direct or select-before-operate).  Blocking clients run in an executor
so one asyncio loop drives all devices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

LD = "DER"
RCB = "LLN0$BR$brcbMX01"


class ClientBackend(Protocol):
    async def connect(self, port: int, ied: str, on_report: Callable[[], None]) -> None: ...
    async def read_totw(self) -> float: ...
    async def operate(self, value: float, sbo: bool) -> None: ...
    async def close(self) -> None: ...


class Open61850Backend:
    """open61850 (pure Python, Apache-2.0): blocking calls, one receive thread per connection."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.client: Any = None
        self.domain = ""

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def connect(self, port: int, ied: str, on_report: Callable[[], None]) -> None:
        from open61850.mms import MmsClient, ObjectName, is_report, rcb

        self.domain = f"{ied}{LD}"

        def report(message: Any) -> None:
            if is_report(message):
                on_report()

        def blocking() -> None:
            self.client = MmsClient.connect(
                "127.0.0.1", port, timeout=5.0, on_information_report=report
            )
            rcb.enable(self.client, ObjectName(RCB, self.domain))

        await self._run(blocking)

    async def read_totw(self) -> float:
        from open61850.mms import ObjectName

        value = await self._run(self.client.read, ObjectName("MMXU1$MX$TotW$mag$f", self.domain))
        return float(value.value)

    async def operate(self, value: float, sbo: bool) -> None:
        from open61850.data import FloatData, StructureData
        from open61850.mms import ObjectName, operate

        name = ObjectName("DRCC1$CO$OutWSet", self.domain)
        ctl = StructureData([FloatData(value)])
        await self._run(lambda: operate(self.client, name, ctl, ctl_model=2 if sbo else 1))

    async def close(self) -> None:
        if self.client is not None:
            await self._run(self.client.close)


class RustIec61850Backend:
    """iec61850 (Rust core, async, MIT OR Apache-2.0)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.conn: Any = None
        self.ref = ""
        self.dispatcher: Any = None
        self.controls: dict[bool, Any] = {}

    async def connect(self, port: int, ied: str, on_report: Callable[[], None]) -> None:
        from iec61850 import IedConnection, RcbWriteMask

        self.ref = f"{ied}{LD}"
        self.conn = await IedConnection.connect(f"127.0.0.1:{port}", timeout_ms=5000)
        rcb_ref = f"{self.ref}/{RCB}"
        await self.conn.install_report_handler(rcb_ref, lambda _r: on_report(), rpt_id=f"{ied}MX")
        rcb = await self.conn.get_rcb_values(rcb_ref)
        rcb.rpt_ena = True
        await self.conn.set_rcb_values(rcb, RcbWriteMask.fields("rpt_ena"))
        self.dispatcher = self.conn.spawn_report_dispatcher(100)

    async def read_totw(self) -> float:
        from iec61850 import FC

        return float(await self.conn.read_float(f"{self.ref}/MMXU1.TotW.mag.f", FC.MX))

    async def operate(self, value: float, sbo: bool) -> None:
        from iec61850 import ControlModel

        co = self.controls.get(sbo)
        if co is None:
            model = ControlModel.SBO_NORMAL if sbo else ControlModel.DIRECT_NORMAL
            co = self.conn.create_control_object(f"{self.ref}/DRCC1.OutWSet", model)
            self.controls[sbo] = co
        if sbo and not await co.select():
            raise RuntimeError("select refused")
        outcome = await co.operate(value)  # APC ctlVal {f}: structures unsupported
        if not outcome.success:
            raise RuntimeError(f"operate refused: {outcome.add_cause}")

    async def close(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        if self.conn is not None:
            await self.conn.disconnect()


class PyIec61850Backend:
    """pyiec61850-ng 1.6.1.10 (libiec61850 SWIG bindings, GPLv3): blocking, holds the GIL."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.client: Any = None
        self.reports: Any = None
        self.controls: Any = None
        self.ref = ""

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def connect(self, port: int, ied: str, on_report: Callable[[], None]) -> None:
        import pyiec61850.pyiec61850 as iec
        from pyiec61850.mms import MMSClient
        from pyiec61850.mms.control import ControlClient
        from pyiec61850.mms.reporting import ReportClient

        self.ref = f"{ied}{LD}"

        def blocking() -> None:
            self.client = MMSClient()
            self.client.connect("127.0.0.1", port, timeout=5000)
            self.client.set_request_timeout(5000)
            self.client.read_value(f"{self.ref}/MMXU1.TotW.mag.f[MX]")  # probe (FACTS)
            self.reports = ReportClient(self.client)
            rcb_ref = f"{self.ref}/{RCB}"
            self.reports.install_report_handler(rcb_ref, f"{ied}MX", lambda _r: on_report())
            # ReportClient.enable_reporting passes a NULL RCB to getRCBValues (FACTS.md):
            # enable through the C API with a ClientReportControlBlock of our own.
            con = self.client._connection
            block = iec.ClientReportControlBlock_create(rcb_ref)
            iec.IedConnection_getRCBValues(con, rcb_ref, block)
            iec.ClientReportControlBlock_setRptEna(block, True)
            iec.ClientReportControlBlock_setGI(block, True)
            mask = iec.RCB_ELEMENT_RPT_ENA | iec.RCB_ELEMENT_GI
            error = iec.IedConnection_setRCBValues(con, block, mask, True)
            if error not in (None, iec.IED_ERROR_OK) and error != (None, iec.IED_ERROR_OK):
                raise RuntimeError(f"enable {rcb_ref}: error {error}")
            self.controls = ControlClient(self.client)

        await self._run(blocking)

    async def read_totw(self) -> float:
        value = await self._run(self.client.read_value, f"{self.ref}/MMXU1.TotW.mag.f[MX]")
        return float(value)

    async def operate(self, value: float, sbo: bool) -> None:
        import pyiec61850.pyiec61850 as iec

        def blocking() -> None:
            ctl = iec.MmsValue_createEmptyStructure(1)
            iec.MmsValue_setElement(ctl, 0, iec.MmsValue_newFloat(value))
            control = self.controls._get_or_create_control(f"{self.ref}/DRCC1.OutWSet")
            if sbo and not iec.ControlObjectClient_select(control):
                raise RuntimeError("select refused")
            if not iec.ControlObjectClient_operate(control, ctl, 0):
                raise RuntimeError("operate refused")

        await self._run(blocking)

    async def close(self) -> None:
        if self.client is not None:
            await self._run(self.client.disconnect)


BACKENDS: dict[str, type[Open61850Backend | RustIec61850Backend | PyIec61850Backend]] = {
    "open61850": Open61850Backend,
    "iec61850": RustIec61850Backend,
    "pyiec61850": PyIec61850Backend,
}
