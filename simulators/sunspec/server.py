"""A SunSpec Modbus TCP server for one simulated device (pymodbus 3.16 SimDevice API).

One server per device, each on its own address (host, port), like real inverters.  The
device answers any unit id (a catch-all ``SimDevice(id=0)``), so a client that asks for
the unit id published in the endpoint list gets it, and a stray one gets data rather
than a traceback in the server log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simulators.sunspec.device import SunSpecDevice
from simulators.sunspec.points import BASE_ADDRESS, writable_ranges
from vpp.runtime import utc_now

READ_CODES = frozenset({3, 4})
WRITE_CODES = frozenset({6, 16})


class SunSpecServer:
    """Serve ``device`` on ``host:port`` (port 0 = any free port; see :attr:`port`)."""

    def __init__(
        self,
        device: SunSpecDevice,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.device = device
        self.host = host
        self.port = port
        self.clock = clock
        self._server: ModbusTcpServer | None = None

    def _simdevice(self) -> SimDevice:
        regs = self.device.image.registers
        blocks = [
            SimData(
                address=addr,
                values=regs[addr - BASE_ADDRESS : addr - BASE_ADDRESS + length],
                datatype=DataType.REGISTERS,
                readonly=not writable,
            )
            for addr, length, writable in writable_ranges(self.device.image)
        ]
        return SimDevice(id=0, simdata=blocks, action=self._action)

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if start_address != BASE_ADDRESS:
            return ExcCodes.ILLEGAL_ADDRESS
        dev = self.device
        dev.registers = current_registers
        now = self.clock()
        if set_values is None or function_code in READ_CODES:
            dev.on_read(current_registers, now, address, count)
            return None
        if function_code not in WRITE_CODES:
            return ExcCodes.ILLEGAL_FUNCTION
        code = dev.on_write(address, [int(v) for v in set_values], now)
        return None if code is None else ExcCodes(code)

    async def start(self) -> int:
        """Listen; return the bound port."""
        self._server = ModbusTcpServer(self._simdevice(), address=(self.host, self.port))
        await self._server.serve_forever(background=True)
        transport = self._server.transport
        sockets = getattr(transport, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            # pymodbus 3.16 leaves ModbusTcpServer.shutdown unannotated
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
