"""Field gateway: drivers by protocol, uplink, buffer, ledger, metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vpp.domain.errors import VppError

if TYPE_CHECKING:
    from vpp.adapters.nats.buffer import DiskTelemetryBuffer
    from vpp.adapters.nats.ledger import SqliteCommandLedger
    from vpp.adapters.nats.publisher import NatsTelemetryPublisher
    from vpp.adapters.nats.uplink import NatsUplink
    from vpp.adapters.prometheus.gateway_metrics import MetricsEndpoint, PrometheusGatewayMetrics
    from vpp.application.gateway import DeviceRunner, FieldGateway
    from vpp.application.ports import CommandVerifier, DeviceDriver, GatewayMetrics
    from vpp.config.gateway import DeviceConfig, GatewayConfig, Iec61850Device
    from vpp.domain.telemetry import Reading

log = logging.getLogger(__name__)

LEDGER_FILE = "commands.sqlite"  # in the gateway's data_dir
SCL_DIR = Path(__file__).resolve().parents[1] / "models" / "iec61850-7-420"


class GatewayBuildError(VppError):
    """A ``gateway.yaml`` the gateway cannot be built from."""


def _iec61850_driver(device: Iec61850Device, default_p_w: float | None) -> DeviceDriver:
    from vpp.adapters.iec61850 import Iec61850Driver

    ld = device.ld
    if ld.startswith(device.ied) and len(ld) > len(device.ied):
        ld = ld[len(device.ied) :]  # "<IED><inst>" -> "<inst>": the driver wants the inst
    scl = device.scl_file or SCL_DIR / f"{device.kind.value}.icd"
    return Iec61850Driver(
        device.der_id,
        device.kind,
        device.host,
        device.port,
        device.ied,
        ld,
        scl,
        timeout_s=device.timeout_s,
        poll_s=device.poll_s,
        default_p_w=default_p_w,
        ratings=None if device.ratings == "device" else device.ratings.to_domain(),
    )


def _gateway_driver(device: DeviceConfig) -> DeviceDriver:
    """The :class:`DeviceDriver` of one configured device, chosen by its protocol."""
    from vpp.config.gateway import Iec61850Device, SunSpecDevice

    default_p_w = device.default.p_w if device.default.mode == "fixed" else None
    if isinstance(device, SunSpecDevice):
        from vpp.adapters.modbus.sunspec_driver import SunSpecDriver

        return SunSpecDriver(
            device.der_id,
            device.kind,
            device.host,
            device.port,
            device.unit_id,
            timeout_s=device.timeout_s,
            default_p_w=default_p_w,
            ratings=None if device.ratings == "device" else device.ratings.to_domain(),
        )
    if isinstance(device, Iec61850Device):
        return _iec61850_driver(device, default_p_w)
    raise GatewayBuildError(f"{device.der_id}: unknown protocol {device.protocol!r}")


@dataclass
class BuiltGateway:
    """A gateway wired from ``gateway.yaml``: ``await built.run()`` until ``built.stop()``."""

    gateway: FieldGateway
    uplink: NatsUplink
    publisher: NatsTelemetryPublisher
    buffer: DiskTelemetryBuffer
    ledger: SqliteCommandLedger
    metrics: PrometheusGatewayMetrics
    metrics_endpoint: MetricsEndpoint | None

    async def run(self) -> None:
        try:
            await self.gateway.run()
        finally:
            self.buffer.close()
            self.ledger.close()

    def stop(self) -> None:
        self.gateway.stop()

    async def wait_started(self, timeout: float = 10.0) -> None:
        await self.gateway.wait_started(timeout)


class _LateSink:
    """The runners' reading sink: the gateway, which is built after its runners."""

    def __init__(self) -> None:
        self.gateway: FieldGateway | None = None

    def __call__(self, reading: Reading) -> None:
        if self.gateway is None:
            raise GatewayBuildError("a device reading arrived before the gateway was built")
        self.gateway.collect(reading)


def _device_runners(
    config: GatewayConfig, metrics: GatewayMetrics, sink: _LateSink
) -> list[DeviceRunner]:
    from vpp.application.gateway import DeviceRunner
    from vpp.application.ports import DeviceSpec

    runners: list[DeviceRunner] = []
    for device in config.devices:
        ratings = None if device.ratings == "device" else device.ratings.to_domain()
        spec = DeviceSpec(
            device.der_id, device.kind, ratings, device.poll_s, config.site_id, device.name
        )
        runners.append(
            DeviceRunner(
                spec,
                _gateway_driver(device),
                config.gateway_id,
                sink,
                revert_after_s=config.safety.device_reversion_s,
                metrics=metrics,
            )
        )
    return runners


def _verifier(config: GatewayConfig) -> CommandVerifier | None:
    """The pinned keys commands are verified against; None only if configured so."""
    from vpp.adapters.crypto import Ed25519CommandVerifier, KeyringError, load_trusted_keys

    path = config.security.command_keys_file
    if path is None:
        log.warning("gateway %s: commands are NOT verified (unsigned allowed)", config.gateway_id)
        return None
    try:
        return Ed25519CommandVerifier(load_trusted_keys(path))
    except KeyringError as exc:
        raise GatewayBuildError(str(exc)) from exc


def _uplink(config: GatewayConfig, metrics: GatewayMetrics) -> NatsUplink:
    from vpp.adapters.nats.uplink import NatsUplink
    from vpp.bootstrap.nats_client import client_settings

    return NatsUplink(
        client_settings(config.nats),
        name=f"vpp-gateway-{config.gateway_id}",
        on_refused=metrics.count_nats_refusal,
    )


def build_gateway(config: GatewayConfig) -> BuiltGateway:
    """Build the field gateway of a :class:`vpp.config.gateway.GatewayConfig`."""
    from vpp.adapters.nats.buffer import DiskTelemetryBuffer
    from vpp.adapters.nats.commands import NatsCommandConsumer
    from vpp.adapters.nats.ledger import SqliteCommandLedger
    from vpp.adapters.nats.publisher import NatsAckPublisher, NatsTelemetryPublisher
    from vpp.adapters.prometheus.gateway_metrics import MetricsEndpoint, PrometheusGatewayMetrics
    from vpp.application.gateway import FieldGateway, GatewayCommandHandler
    from vpp.runtime import SystemClock

    gw_id = config.gateway_id
    verifier = _verifier(config)
    data_dir = Path(config.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    metrics = PrometheusGatewayMetrics(gw_id)
    uplink = _uplink(config, metrics)
    buffer = DiskTelemetryBuffer(data_dir / "telemetry-buffer.sqlite", config.buffer.max_bytes)
    publisher = NatsTelemetryPublisher(uplink, buffer, metrics)
    ledger = SqliteCommandLedger(data_dir / LEDGER_FILE)
    clock = SystemClock()
    sink = _LateSink()
    runners = _device_runners(config, metrics, sink)
    handler = GatewayCommandHandler(
        gw_id,
        {r.der_id: r for r in runners},
        ledger,
        NatsAckPublisher(uplink),
        clock,
        command_timeout_s=config.safety.command_timeout_s,
        metrics=metrics,
    )
    flush_s = min([d.poll_s for d in config.devices] or [1.0])
    gateway = FieldGateway(
        gw_id, runners, publisher, handler, uplink, clock, metrics=metrics, flush_s=flush_s
    )
    sink.gateway = gateway
    consumer = NatsCommandConsumer(
        uplink,
        gw_id,
        gateway.handle_command,
        verifier=verifier,
        metrics=metrics,
        answered=lambda command_id: ledger.known_ack(command_id) is not None,
        on_dead_letter=lambda _: metrics.count_dead_letter(),
    )
    endpoint = None
    gateway.services = [uplink, publisher, consumer]
    if config.metrics.port is not None:
        endpoint = MetricsEndpoint(
            metrics, config.metrics.host, config.metrics.port, ready=gateway.readiness
        )
        gateway.services.append(endpoint)
    return BuiltGateway(gateway, uplink, publisher, buffer, ledger, metrics, endpoint)


def reset_ledger(config: GatewayConfig, der_id: str) -> tuple[int, str] | None:
    """Clear the last applied sequence of one DER in the gateway's ledger (the gateway may
    be running: it reads the ledger per command); what was removed, or None."""
    from vpp.adapters.nats.ledger import SqliteCommandLedger

    if der_id not in {d.der_id for d in config.devices}:
        raise GatewayBuildError(f"DER {der_id!r} is not configured on gateway {config.gateway_id}")
    path = Path(config.data_dir) / LEDGER_FILE
    if not path.exists():
        raise GatewayBuildError(f"no command ledger at {path}")
    ledger = SqliteCommandLedger(path)
    try:
        return ledger.reset_der(der_id)
    finally:
        ledger.close()
