"""Every adapter against the port it implements, checked by mypy (strict) in ``make test``.

Nothing here runs: the function below only exists for the type checker, which fails the
build when an adapter no longer satisfies its port (a renamed method, a changed
signature, a wider return type).  Add a line when an adapter or a port is added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vpp.adapters.crypto import Ed25519CommandSigner, Ed25519CommandVerifier
    from vpp.adapters.iec61850.driver import Iec61850Driver
    from vpp.adapters.modbus.sunspec_driver import SunSpecDriver
    from vpp.adapters.nats.command_sender import NatsCommandSender
    from vpp.adapters.nats.commands import NatsCommandConsumer
    from vpp.adapters.nats.lease import NatsLeaseStore
    from vpp.adapters.nats.ledger import SqliteCommandLedger
    from vpp.adapters.nats.projection_consumer import NatsChangePublisher
    from vpp.adapters.nats.projector_leases import KvLeaseBoard
    from vpp.adapters.nats.publisher import NatsAckPublisher, NatsTelemetryPublisher
    from vpp.adapters.nats.uplink import NatsUplink
    from vpp.adapters.prometheus.dispatcher_metrics import PrometheusDispatcherMetrics
    from vpp.adapters.prometheus.gateway_metrics import MetricsEndpoint, PrometheusGatewayMetrics
    from vpp.adapters.prometheus.projector_metrics import PrometheusProjectorMetrics
    from vpp.adapters.store.api_keys import SqlApiKeyStore
    from vpp.adapters.store.dispatch_store import SqlDispatchStore
    from vpp.adapters.store.dispatcher_store import SqlDispatcherStore
    from vpp.adapters.store.projection_writer import SqlProjectionWriter
    from vpp.adapters.store.registry_store import SqlDerGateways, SqlRegistryStore
    from vpp.adapters.store.retention import SqlTelemetryRetention
    from vpp.adapters.store.rollups import SqlRollupMaintainer
    from vpp.adapters.store.telemetry_reads import SqlTelemetryReadStore
    from vpp.application import ports as p
    from vpp.application.dispatcher.leadership import LeaderElection
    from vpp.runtime import SystemClock

    def adapters_implement_their_ports(
        sunspec: SunSpecDriver,
        iec61850: Iec61850Driver,
        telemetry: NatsTelemetryPublisher,
        acks: NatsAckPublisher,
        ledger: SqliteCommandLedger,
        uplink: NatsUplink,
        consumer: NatsCommandConsumer,
        gateway_metrics: PrometheusGatewayMetrics,
        metrics_endpoint: MetricsEndpoint,
        projection: SqlProjectionWriter,
        rollups: SqlRollupMaintainer,
        changes: NatsChangePublisher,
        der_gateways: SqlDerGateways,
        dispatcher_store: SqlDispatcherStore,
        commands: NatsCommandSender,
        api_keys: SqlApiKeyStore,
        registry: SqlRegistryStore,
        telemetry_reads: SqlTelemetryReadStore,
        retention: SqlTelemetryRetention,
        dispatches: SqlDispatchStore,
        clock: SystemClock,
        signer: Ed25519CommandSigner,
        verifier: Ed25519CommandVerifier,
    ) -> None:
        devices: list[p.DeviceDriver] = [sunspec, iec61850]
        ratings: p.RatingsSource = sunspec
        services: list[p.Service] = [uplink, telemetry, consumer, metrics_endpoint]
        gateway: tuple[p.TelemetryPublisher, p.AckPublisher, p.CommandLedger, p.Uplink] = (
            telemetry,
            acks,
            ledger,
            uplink,
        )
        metrics: p.GatewayMetrics = gateway_metrics
        projector: tuple[
            p.ProjectionWriter, p.RollupMaintainer, p.ChangePublisher, p.DerGateways
        ] = (projection, rollups, changes, der_gateways)
        dispatcher: tuple[p.DispatcherStore, p.CommandSender] = (dispatcher_store, commands)
        operator: tuple[p.ApiKeyStore, p.RegistryStore, p.TelemetryReadStore, p.DispatchStore] = (
            api_keys,
            registry,
            telemetry_reads,
            dispatches,
        )
        retained: p.TelemetryRetentionStore = retention
        now: p.Clock = clock
        signing: tuple[p.CommandSigner, p.CommandVerifier] = (signer, verifier)
        del devices, ratings, services, gateway, metrics, projector, dispatcher, operator, now
        del signing, retained

    def groups_implement_their_ports(
        lease: NatsLeaseStore,
        election: LeaderElection,
        dispatcher_metrics: PrometheusDispatcherMetrics,
        board: KvLeaseBoard,
        projector_metrics: PrometheusProjectorMetrics,
    ) -> None:
        """The dispatchers' leadership and the projector group's leases."""
        leadership: tuple[p.LeaseStore, p.Fence, p.DispatcherMetrics] = (
            lease,
            election,
            dispatcher_metrics,
        )
        group: tuple[p.LeaseBoard, p.ProjectorMetrics] = (board, projector_metrics)
        del leadership, group
