"""The playground's ``info.json``: URLs, the demo API key, the NATS identity for scripts,
and every process it started (NATS nodes included) so that scripts can find and kill one;
written again whenever a process is restarted (its PID changed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpp.bootstrap.playground_nats import nodes_of

if TYPE_CHECKING:
    from vpp.bootstrap.demo import DemoRegistration
    from vpp.bootstrap.playground import Stack


@dataclass
class InfoFile:
    stack: Stack
    data: dict[str, Any]
    paths: list[Path] = field(default_factory=list)

    @property
    def shown(self) -> Path:
        """The path the banner shows (``--info-file`` when given)."""
        return self.paths[-1]

    def write(self) -> None:
        text = json.dumps(self.data, indent=2) + "\n"
        for path in self.paths:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text)
            tmp.replace(path)  # a script never reads half a file

    def refresh(self) -> None:
        """The processes list again (after a restart), written out."""
        self.data["processes"] = processes(self.stack)
        self.write()


def processes(stack: Stack) -> list[dict[str, object]]:
    """``{"name", "role", "pid"}`` (and ``ops_url`` where it serves one) of every NATS
    node and every child still running."""
    nodes: list[dict[str, object]] = [
        {"name": f"nats-{i}", "role": "nats-server", "pid": node.pid}
        for i, node in enumerate(nodes_of(stack.nats), 1)
        if node.alive()
    ]
    children: list[dict[str, object]] = [
        {"name": c.name, "role": c.role, "pid": c.pid, "ops_url": c.ops_url}
        for c in stack.sup.children
        if c.process.poll() is None
    ]
    others: list[dict[str, object]] = [
        {"name": "prometheus", "role": "prometheus", "pid": p.pid}
        for p in stack.prometheus
        if p.alive()
    ]
    return [*nodes, *children, *others]


def write_info(
    stack: Stack,
    api_url: str,
    demo: DemoRegistration,
    info_file: Path | None,
    prometheus_url: str | None = None,
) -> InfoFile:
    """``info.json`` in the run directory (and at ``info_file``)."""
    data = {
        "api_url": api_url,
        "api_key": demo.api_key,
        "nats_url": stack.nats.url,
        "nats_urls": stack.nats.urls,
        # a read-only NATS identity (telemetry, acks, changes) for scripts and benchmarks
        "nats_client": str(stack.nats.client_file("observer")),
        # the private CA of the playground's certificates (NATS and the API's https)
        "ca_file": str(stack.nats.pki.ca_file) if stack.nats.pki else None,
        "plants": demo.plant_ids,
        "run_dir": str(stack.run_dir),
        "db_url": stack.db_url,
        "prometheus_url": prometheus_url,
        "processes": processes(stack),
    }
    paths = [stack.run_dir / "info.json"]
    if info_file is not None and info_file.resolve() != paths[0].resolve():
        paths.append(info_file)
    info = InfoFile(stack, data, paths)
    info.write()
    return info
