"""Composition root: builds concrete adapters from configuration; the CLI calls it.

One module per thing that gets built: the store, the projector, the dispatcher, the
gateway (and its ``gateway.yaml`` from simulator endpoints), the API (with registry
import and API keys), and the playground that runs them all (its demo registry, its
child processes).
"""

from __future__ import annotations

from vpp.bootstrap.api import (
    api_services,
    build_api,
    ensure_tenant_key,
    import_registry_configs,
    import_registry_files,
    issue_platform_key,
    registry_import_from_config,
)
from vpp.bootstrap.dispatcher import run_dispatcher
from vpp.bootstrap.gateway import BuiltGateway, GatewayBuildError, build_gateway
from vpp.bootstrap.gateway_config import gateway_config_from_endpoints
from vpp.bootstrap.playground import PlaygroundOptions, run_playground
from vpp.bootstrap.projector import run_projector
from vpp.bootstrap.store import store_revision, upgrade_store

__all__ = [
    "BuiltGateway",
    "GatewayBuildError",
    "PlaygroundOptions",
    "api_services",
    "build_api",
    "build_gateway",
    "ensure_tenant_key",
    "gateway_config_from_endpoints",
    "import_registry_configs",
    "import_registry_files",
    "issue_platform_key",
    "registry_import_from_config",
    "run_dispatcher",
    "run_playground",
    "run_projector",
    "store_revision",
    "upgrade_store",
]
