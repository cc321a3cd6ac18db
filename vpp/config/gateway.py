"""``gateway.yaml``: one field gateway, its uplink and its devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from vpp.config.common import Host, Id, Port, RatingsConfig, Strict, check_kind_ratings
from vpp.domain.der import DerKind
from vpp.domain.errors import InvalidValue


class NatsConfig(Strict):
    """How a process connects to NATS (``nats:`` of gateway.yaml, and the client files
    that ``vpp nats`` writes for the central processes)."""

    url: str = "nats://127.0.0.1:4222"  # comma-separated for a cluster; tls:// for TLS
    nkey_seed_file: Path | None = None  # this identity's nkey seed (owner-only file)
    inbox_prefix: str | None = None  # its private reply subjects (_INBOX.<name>)
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds_file: Path | None = None


class DefaultMode(Strict):
    """What a device does when the VPP is gone: its own autonomous mode, or a fixed power."""

    mode: Literal["autonomous", "fixed"] = "autonomous"
    p_w: float = 0.0


class _DeviceBase(Strict):
    der_id: Id
    kind: DerKind
    host: Host = "127.0.0.1"
    ratings: RatingsConfig | Literal["device"] = "device"
    poll_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 1.0
    timeout_s: Annotated[float, Field(gt=0.0, le=60.0)] = 2.0
    default: DefaultMode = DefaultMode()
    name: str = ""

    @model_validator(mode="after")
    def _kind_ratings(self) -> _DeviceBase:
        check_kind_ratings(self.kind, self.ratings)
        return self


class SunSpecDevice(_DeviceBase):
    protocol: Literal["sunspec"]
    port: Port = 502
    unit_id: Annotated[int, Field(ge=0, le=247)] = 1


class Iec61850Device(_DeviceBase):
    protocol: Literal["iec61850"]
    port: Port = 102
    ied: Id
    ld: Id
    scl_file: Path | None = None  # default: models/iec61850-7-420/<kind>.icd


DeviceConfig = Annotated[SunSpecDevice | Iec61850Device, Field(discriminator="protocol")]


class SafetyConfig(Strict):
    """If no valid command or heartbeat arrives for ``command_timeout_s``, or the uplink is
    lost for that long, every device returns to its default mode."""

    command_timeout_s: Annotated[float, Field(gt=0.0, le=86400.0)] = 60.0
    device_reversion_s: Annotated[float, Field(gt=0.0, le=86400.0)] = 60.0


class BufferConfig(Strict):
    """Store-and-forward while NATS is unreachable."""

    max_bytes: Annotated[int, Field(ge=1_000_000)] = 1_000_000_000


class MetricsConfig(Strict):
    host: Host = "127.0.0.1"
    port: Port | None = None  # None: no /metrics endpoint


class SecurityConfig(Strict):
    """Commands must carry the dispatcher's signature, verified against the public keys
    in ``command_keys_file`` (``vpp keys export``) before anything else.  Running without
    verification needs ``allow_unsigned_commands: true``, said out loud; secure by default."""

    command_keys_file: Path | None = None
    allow_unsigned_commands: bool = False

    def problem(self) -> str | None:
        """Why this section cannot run a gateway, or None."""
        if self.command_keys_file is None and not self.allow_unsigned_commands:
            return (
                "security.command_keys_file is required (the dispatcher's public keys, "
                "from `vpp keys export`); set security.allow_unsigned_commands: true to run "
                "without command signatures"
            )
        if self.command_keys_file is not None and self.allow_unsigned_commands:
            return (
                "security: command_keys_file and allow_unsigned_commands: true contradict "
                "each other (with keys, every command is verified)"
            )
        return None


class GatewayConfig(Strict):
    gateway_id: Id
    site_id: Id | None = None
    nats: NatsConfig = NatsConfig()
    data_dir: Path = Path("gateway-data")
    safety: SafetyConfig = SafetyConfig()
    buffer: BufferConfig = BufferConfig()
    metrics: MetricsConfig = MetricsConfig()
    security: SecurityConfig = SecurityConfig()
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> GatewayConfig:
        problem = self.security.problem()
        if problem is not None:
            raise InvalidValue(problem)
        seen: set[str] = set()
        for dev in self.devices:
            if dev.der_id in seen:
                raise InvalidValue(f"der_id {dev.der_id!r} appears twice")
            seen.add(dev.der_id)
        return self
