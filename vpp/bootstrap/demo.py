"""The playground's demo data: its fleet file, its tenant and the plants it registers.

One tenant (``demo``) with an API key, and one plant of every DER of the gateway
(``demo-all``) plus one per protocol that has devices (``demo-sunspec``,
``demo-iec61850``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from vpp.bootstrap.api import ensure_tenant_key, import_registry_configs
from vpp.config.gateway import GatewayConfig
from vpp.config.registry import PlantConfig, RegistryConfig, TenantConfig

DEMO_TENANT = "demo"
PROTOCOLS = ("sunspec", "iec61850")


def default_fleet() -> Path:
    """The simulated fleet the playground runs unless told otherwise."""
    return Path(str(files("simulators") / "fleets" / "demo.yaml"))


def demo_plants(*gateways: GatewayConfig) -> list[PlantConfig]:
    """``demo-all`` with every device of ``gateways``, then one plant per protocol in use."""
    devices = [d for g in gateways for d in g.devices]
    ids = sorted(d.der_id for d in devices)
    by_protocol = {p: sorted(d.der_id for d in devices if d.protocol == p) for p in PROTOCOLS}
    plants = [
        PlantConfig(plant_id="demo-all", tenant_id=DEMO_TENANT, name="All demo DERs", members=ids)
    ]
    plants += [
        PlantConfig(
            plant_id=f"demo-{p}", tenant_id=DEMO_TENANT, name=f"Demo DERs on {p}", members=m
        )
        for p, m in by_protocol.items()
        if m
    ]
    return plants


def demo_registry(*gateways: GatewayConfig) -> RegistryConfig:
    """The demo tenant and its plants over the devices of ``gateways``."""
    return RegistryConfig(
        tenants=[TenantConfig(tenant_id=DEMO_TENANT, name="Demo")], plants=demo_plants(*gateways)
    )


@dataclass(frozen=True, slots=True)
class DemoRegistration:
    """What the playground shows of the registered demo: the key and the plant ids."""

    api_key: str
    plant_ids: list[str]


def register_demo(db_url: str, gateways: list[GatewayConfig]) -> DemoRegistration:
    """Create the demo tenant with a new API key, then import the gateways and their
    plants into the (already migrated) store at ``db_url``."""
    registry = demo_registry(*gateways)
    key = ensure_tenant_key(db_url, DEMO_TENANT, "Demo", upgrade=False)
    import_registry_configs(db_url, registry, gateways, upgrade=False)
    return DemoRegistration(key, [p.plant_id for p in registry.plants])
