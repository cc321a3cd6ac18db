"""Fleet files: how many devices of each kind, their parameters, protocols and addresses.

The schema is documented in ``docs/simulators.md``.  :func:`expand_fleet` turns a fleet
description (the parsed YAML, a dict) into one :class:`DeviceSpec` per device,
deterministically for a given seed: same file + same seed = same fleet.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from simulators.physics import example_ratings
from vpp.domain import DerKind, DerRatings
from vpp.domain.der import RATINGS_FIELDS, check_ratings_for_kind
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import validate_id

PROTOCOLS = ("sunspec", "iec61850")
DEFAULT_PORTS = {"sunspec": 0, "iec61850": 0}  # 0 = any free port
CTL_MODELS = ("direct-with-normal-security", "sbo-with-normal-security")


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One simulated device, ready for a worker process (JSON-serialisable via asdict)."""

    der_id: str
    kind: str
    protocol: str
    host: str
    port: int  # 0 = pick a free port at start
    ratings: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    unit_id: int = 1  # SunSpec
    ied: str = ""  # IEC 61850
    ctl_model: str = ""  # IEC 61850
    auto_port: bool = False  # the port was picked by the launcher, another one will do

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def der_ratings(self) -> DerRatings:
        return DerRatings(**self.ratings)


def draw(value: Any, rng: random.Random) -> Any:
    """A parameter value: a constant, or ``{uniform: [a, b]}``, ``{normal: [mu, sigma]}``
    (optionally with ``min``/``max``), ``{choice: [...]}`` or ``{int_uniform: [a, b]}``."""
    if not isinstance(value, dict):
        return value
    if "uniform" in value:
        lo, hi = value["uniform"]
        return rng.uniform(float(lo), float(hi))
    if "int_uniform" in value:
        lo, hi = value["int_uniform"]
        return rng.randint(int(lo), int(hi))
    if "normal" in value:
        mu, sigma = value["normal"]
        x = rng.gauss(float(mu), float(sigma))
        return min(float(value.get("max", x)), max(float(value.get("min", x)), x))
    if "choice" in value:
        return rng.choice(list(value["choice"]))
    return {k: draw(v, rng) for k, v in value.items()}


def ied_name_for(der_id: str) -> str:
    """A valid, unique-per-der_id IED name (letters, digits, underscore; starts with a letter)."""
    return "S" + re.sub(r"[^A-Za-z0-9]", "_", der_id)[:50]


def _protocol(value: Any, n: int, count: int) -> str:
    """The protocol of the ``n``-th of ``count`` devices; a mix such as ``{sunspec: 0.7,
    iec61850: 0.3}`` is split in proportion, in order (not at random)."""
    if isinstance(value, str):
        choice = value
    elif isinstance(value, dict):
        total = sum(float(w) for w in value.values())
        position, cumulative = (n + 0.5) / count, 0.0
        choice = list(value)[-1]
        for name, weight in value.items():
            cumulative += float(weight) / total
            if position < cumulative:
                choice = name
                break
    else:
        raise InvalidValue(f"protocol must be a name or a mix, got {value!r}")
    if choice not in PROTOCOLS:
        raise InvalidValue(f"protocol must be one of {PROTOCOLS}, got {choice!r}")
    return choice


class Addresses:
    """Hands out (host, port) per protocol: one port per device on one host, or one
    loopback address per device (``host_range``) on a fixed port, like real inverters."""

    def __init__(self, addressing: dict[str, Any]) -> None:
        self.cfg = {p: dict(addressing.get(p, {})) for p in PROTOCOLS}
        self.count = dict.fromkeys(PROTOCOLS, 0)

    def next(self, protocol: str) -> tuple[str, int]:
        cfg, i = self.cfg[protocol], self.count[protocol]
        self.count[protocol] += 1
        if "host_range" in cfg:
            first = ipaddress.IPv4Address(cfg["host_range"])
            address = ipaddress.IPv4Address(int(first) + i)
            if not address.is_loopback:
                raise InvalidValue(f"host_range runs out of 127.0.0.0/8 at device {i}")
            return str(address), int(cfg.get("port", 502 if protocol == "sunspec" else 102))
        host = str(cfg.get("host", "127.0.0.1"))
        base = int(cfg.get("base_port", DEFAULT_PORTS[protocol]))
        return host, (base + i if base else 0)


def _ratings(kind: DerKind, spec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    ratings = asdict(example_ratings(kind))
    for name, value in (spec or {}).items():
        if name not in RATINGS_FIELDS:
            raise InvalidValue(f"unknown rating {name!r}; known: {', '.join(RATINGS_FIELDS)}")
        drawn = draw(value, rng)
        if isinstance(drawn, int | float):
            whole = name.endswith(("_w", "_wh", "_var", "_per_s"))
            drawn = float(round(drawn)) if whole else float(drawn)
        ratings[name] = drawn
    check_ratings_for_kind(kind, DerRatings(**ratings))
    return ratings


def expand_fleet(fleet: dict[str, Any], seed: int | None = None) -> list[DeviceSpec]:
    """Every device of ``fleet``, in file order; ``seed`` overrides the file's."""
    seed = int(fleet.get("seed", 0) if seed is None else seed)
    rng = random.Random(f"fleet:{seed}")
    addresses = Addresses(fleet.get("addressing", {}))
    devices: list[DeviceSpec] = []
    for g, group in enumerate(fleet.get("groups", [])):
        kind = DerKind(group["kind"])
        prefix = str(group.get("id_prefix", kind.value.replace("_", "-")))
        for n in range(int(group.get("count", 1))):
            der_id = validate_id(f"{prefix}-{n + 1:04d}", "der_id")
            count = int(group.get("count", 1))
            protocol = _protocol(group.get("protocol", "sunspec"), n, count)
            host, port = addresses.next(protocol)
            ctl = str(draw(group.get("ctl_model", CTL_MODELS[0]), rng))
            if ctl not in CTL_MODELS:
                raise InvalidValue(f"group {g}: ctl_model must be one of {CTL_MODELS}")
            devices.append(
                DeviceSpec(
                    der_id=der_id,
                    kind=kind.value,
                    protocol=protocol,
                    host=host,
                    port=port,
                    ratings=_ratings(kind, group.get("ratings", {}), rng),
                    params={k: draw(v, rng) for k, v in (group.get("params") or {}).items()},
                    seed=seed,
                    unit_id=int(group.get("unit_id", 1)),
                    ied=ied_name_for(der_id) if protocol == "iec61850" else "",
                    ctl_model=ctl if protocol == "iec61850" else "",
                )
            )
    ids = [d.der_id for d in devices]
    if len(set(ids)) != len(ids):
        raise InvalidValue("fleet has duplicate der_ids (give each group its own id_prefix)")
    return devices


def shards(devices: list[DeviceSpec], per_process: dict[str, int]) -> list[list[DeviceSpec]]:
    """Split devices into worker loads: one protocol per worker, at most N devices each."""
    out: list[list[DeviceSpec]] = []
    for protocol in PROTOCOLS:
        mine = [d for d in devices if d.protocol == protocol]
        size = max(1, int(per_process.get(protocol, 100 if protocol == "iec61850" else 500)))
        out.extend(mine[i : i + size] for i in range(0, len(mine), size))
    return out
