"""Unreachable, silent, garbage-answering and dying devices: DeviceError, never a crash."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from open61850.mms import ControlError, InformationReport, ObjectName

import vpp.adapters.iec61850.session as session_module
from simulators.fleet import start_fleet
from tests.harness.iec61850 import fleet_spec, group
from vpp.adapters.iec61850 import Iec61850Driver
from vpp.adapters.iec61850.session import MmsSession, SessionError
from vpp.adapters.nats.server import free_port
from vpp.application.ports import DeviceError
from vpp.domain.der import DerKind
from vpp.domain.errors import InvalidValue

SCL = Path(__file__).resolve().parents[2] / "models" / "iec61850-7-420" / "battery.icd"


def battery(port: int, timeout_s: float = 0.5) -> Iec61850Driver:
    return Iec61850Driver(
        "bat-x", DerKind.BATTERY, "127.0.0.1", port, "Sbat_x", "DER", SCL, timeout_s=timeout_s
    )


async def peer(handler) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def garbage_port() -> AsyncIterator[int]:
    async def answer_junk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.read(4096):
                writer.write(b"\x03\x00\x00\x0b\x02\xf0\x80\xde\xad\xbe\xef" + bytes(range(64)))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async for port in peer(answer_junk):
        yield port


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    async for port in peer(say_nothing):
        yield port


async def test_unreachable_device_is_a_transient_device_error() -> None:
    driver = battery(free_port())
    with pytest.raises(DeviceError) as err:
        await driver.connect()
    assert err.value.transient
    with pytest.raises(DeviceError):
        await driver.read()
    await driver.close()


async def test_garbage_answer_is_a_device_error(garbage_port: int) -> None:
    driver = battery(garbage_port)
    with pytest.raises(DeviceError):
        await driver.connect()
    await driver.close()


async def test_silent_device_times_out_in_bounded_time(silent_port: int) -> None:
    driver = battery(silent_port, timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(DeviceError):
        await driver.connect()
    assert time.monotonic() - start < 10 * 0.5 + 2.0
    await driver.close()


def test_scl_without_a_setpoint_is_refused_at_construction(tmp_path: Path) -> None:
    text = SCL.read_text().replace('name="OutWSet"', 'name="OutVarSet"')
    (tmp_path / "x.icd").write_text(text)
    with pytest.raises(InvalidValue):
        Iec61850Driver("bat-x", DerKind.BATTERY, "127.0.0.1", 1, "S", "DER", tmp_path / "x.icd")


def test_undecodable_report_never_raises_into_the_receiver() -> None:
    driver = battery(1)
    got: list[object] = []
    session = MmsSession(driver.refs, "127.0.0.1", 1, 1.0, lambda u, e: got.append(u))
    junk = InformationReport(ObjectName("RPT", None), [], [b"\x00"])  # type: ignore[arg-type]
    session._report(junk)
    assert session.garbage_reports == 1 and got == []


async def test_device_that_dies_is_an_error_then_reconnects() -> None:
    port = free_port()
    spec = fleet_spec([group("battery", "die")])
    spec["addressing"]["iec61850"]["base_port"] = port
    fleet = start_fleet(spec)
    ep = fleet.endpoints[0]
    driver = Iec61850Driver(
        ep["der_id"], DerKind.BATTERY, "127.0.0.1", port, ep["ied"], "DER", SCL, timeout_s=1.0
    )
    try:
        await driver.connect()
        await driver.read()
        fleet.stop()
        with pytest.raises(DeviceError):
            for _ in range(20):  # the association's loss shows within a read or two
                await driver.read()
                await asyncio.sleep(0.2)
        with pytest.raises(DeviceError):
            await driver.connect()
        fleet = start_fleet(spec)
        await driver.connect()
        assert (await driver.read()).der_id == ep["der_id"]
    finally:
        await driver.close()
        fleet.stop()


def test_refused_operate_follows_a_changed_ctl_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry in isolation (faked peer): one re-read of ctlModel after a refusal, a
    second operate only if it changed, and a refusal with an unchanged model is final."""
    models_used: list[int] = []

    def operate(client, name, value, *, ctl_model, **kw):  # type: ignore[no-untyped-def]
        models_used.append(ctl_model)
        if ctl_model != 2:
            raise ControlError("operate", "object not selected")

    monkeypatch.setattr(session_module, "operate", operate)
    session = MmsSession(battery(1).refs, "127.0.0.1", 1, 1.0, lambda u, e: None)
    session.client = object()  # type: ignore[assignment]
    session.ctl_model = 1
    monkeypatch.setattr(session, "_read_ctl_model", lambda: 2)
    assert session.operate_setpoint(-500.0) == -500.0
    assert models_used == [1, 2] and session.ctl_model == 2
    session.ctl_model = 2  # unchanged on the device: the refusal is final

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ControlError("operate", "refused")

    monkeypatch.setattr(session_module, "operate", refuse)
    with pytest.raises(SessionError) as err:
        session.operate_setpoint(-500.0)
    assert not err.value.transient
