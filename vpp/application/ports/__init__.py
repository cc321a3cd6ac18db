"""Every port of the use cases, in one package, grouped by who uses them.

========================  =================================================================
module                    ports (``typing.Protocol``) and the values they carry
========================  =================================================================
``devices``               gateway → field device: ``DeviceDriver``, ``RatingsSource``
``gateway``               gateway → uplink / own state: ``TelemetryPublisher``,
                          ``AckPublisher``, ``CommandLedger``, ``Uplink``, ``Service``
``metrics``               gateway, dispatcher, projector → metrics: ``GatewayMetrics``,
                          ``DispatcherMetrics``, ``ProjectorMetrics``
``leases``                projector group: ``LeaseBoard``, ``UnitRunner``
``projection``            projector: ``ProjectionWriter``, ``RollupMaintainer``,
                          ``ChangePublisher``, ``DerGateways``
``retention``             projector: ``TelemetryRetentionStore`` (levels ``RAW`` …)
``dispatching``           dispatcher: ``DispatcherStore``, ``CommandSender``
``leadership``            dispatchers: ``LeaseStore`` (``Lease``), ``Fence``
``operator``              operator API: ``ApiKeyStore``, ``RegistryStore``,
                          ``TelemetryReadStore``, ``DispatchStore`` (records in ``records``)
``signing``               dispatcher → gateway: ``CommandSigner``, ``CommandVerifier``
``clock``                 everyone: ``Clock``
========================  =================================================================

Adapters (``vpp.adapters.*``) implement them and are named after the port they implement
(``SqlRegistryStore`` implements ``RegistryStore``); use cases and tests depend only on
these.  ``vpp/bootstrap/port_conformance.py`` has mypy check every adapter against its
port.
"""

from vpp.application.ports.clock import Clock
from vpp.application.ports.devices import Applied, DeviceDriver, DeviceError, RatingsSource
from vpp.application.ports.dispatching import (
    KEEP,
    CommandSender,
    DispatcherStore,
    DispatchUpdate,
    IntervalState,
    IntervalUpdate,
    Keep,
    OpenDispatch,
    tally_columns,
    tally_from_columns,
)
from vpp.application.ports.gateway import (
    AckPublisher,
    CommandLedger,
    CommandNotYetValid,
    DeviceSpec,
    Service,
    TelemetryPublisher,
    Uplink,
)
from vpp.application.ports.leadership import Fence, Lease, LeaseRecord, LeaseStore
from vpp.application.ports.leases import LeaseBoard, UnitRunner
from vpp.application.ports.metrics import DispatcherMetrics, GatewayMetrics, ProjectorMetrics
from vpp.application.ports.operator import (
    ApiKeyStore,
    DispatchStore,
    RegistryStore,
    TelemetryReadStore,
)
from vpp.application.ports.projection import (
    ChangePublisher,
    ChangeRecord,
    DerGateways,
    ProjectionWriter,
    RollupMaintainer,
    StreamPosition,
)
from vpp.application.ports.records import (
    AlreadyExists,
    ApiKeyRecord,
    CommandCounts,
    DerRecord,
    DispatchRecord,
    DuplicateIdempotencyKey,
    GatewayRecord,
    IntervalRecord,
    PlantBucket,
    RegistryImport,
    RollupRow,
    SiteRecord,
    StoreConflict,
    StoreError,
    StoreUnavailable,
)
from vpp.application.ports.retention import (
    LEVELS,
    MINUTE,
    QUARTER,
    RAW,
    TelemetryRetentionStore,
)
from vpp.application.ports.signing import (
    CommandSigner,
    CommandVerifier,
    RefusalKind,
    SignatureRefused,
)

__all__ = [
    "KEEP",
    "LEVELS",
    "MINUTE",
    "QUARTER",
    "RAW",
    "AckPublisher",
    "AlreadyExists",
    "ApiKeyRecord",
    "ApiKeyStore",
    "Applied",
    "ChangePublisher",
    "ChangeRecord",
    "Clock",
    "CommandCounts",
    "CommandLedger",
    "CommandNotYetValid",
    "CommandSender",
    "CommandSigner",
    "CommandVerifier",
    "DerGateways",
    "DerRecord",
    "DeviceDriver",
    "DeviceError",
    "DeviceSpec",
    "DispatchRecord",
    "DispatchStore",
    "DispatchUpdate",
    "DispatcherMetrics",
    "DispatcherStore",
    "DuplicateIdempotencyKey",
    "Fence",
    "GatewayMetrics",
    "GatewayRecord",
    "IntervalRecord",
    "IntervalState",
    "IntervalUpdate",
    "Keep",
    "Lease",
    "LeaseBoard",
    "LeaseRecord",
    "LeaseStore",
    "OpenDispatch",
    "PlantBucket",
    "ProjectionWriter",
    "ProjectorMetrics",
    "RatingsSource",
    "RefusalKind",
    "RegistryImport",
    "RegistryStore",
    "RollupMaintainer",
    "RollupRow",
    "Service",
    "SignatureRefused",
    "SiteRecord",
    "StoreConflict",
    "StoreError",
    "StoreUnavailable",
    "StreamPosition",
    "TelemetryPublisher",
    "TelemetryReadStore",
    "TelemetryRetentionStore",
    "UnitRunner",
    "Uplink",
    "tally_columns",
    "tally_from_columns",
]
