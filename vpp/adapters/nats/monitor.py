"""What one nats-server says about itself on its HTTP monitoring port (``/jsz``).

A client's ``stream info`` is answered by the stream's leader; a node's own copy of a
stream (is a node that came back caught up?) is only visible on that node's ``/jsz``.
The monitoring port listens on loopback only (it needs no credentials).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from vpp.domain.errors import VppError


class MonitorError(VppError):
    """The monitoring endpoint did not answer (the node is down or still starting)."""


@dataclass(frozen=True, slots=True)
class NodeStream:
    """A stream as this node stores it."""

    name: str
    messages: int
    last_seq: int
    leader: str | None  # the stream's leader, as this node knows it


def _get(host: str, port: int, path: str, timeout: float) -> dict[str, Any]:
    url = f"http://{host}:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data: dict[str, Any] = json.load(r)
    except (OSError, ValueError) as exc:
        raise MonitorError(f"{url}: {exc}") from exc
    return data


def jsz(host: str, port: int, timeout: float = 2.0) -> dict[str, Any]:
    """The node's ``/jsz`` with every account's streams."""
    return _get(host, port, "/jsz?accounts=true&streams=true", timeout)


def client_names(host: str, port: int, timeout: float = 2.0) -> list[str]:
    """The connection names of the clients connected to this node (``/connz``)."""
    conns = _get(host, port, "/connz?limit=1024", timeout).get("connections") or []
    return [str(c.get("name", "")) for c in conns]


def meta_leader(host: str, port: int) -> str | None:
    """The JetStream meta leader this node follows (None: no leader yet)."""
    leader = (jsz(host, port).get("meta_cluster") or {}).get("leader")
    return str(leader) if leader else None


def node_streams(host: str, port: int) -> dict[str, NodeStream]:
    """Every stream this node holds a copy of, by name."""
    out: dict[str, NodeStream] = {}
    for account in jsz(host, port).get("account_details") or []:
        for s in account.get("stream_detail") or []:
            state = s.get("state") or {}
            out[s["name"]] = NodeStream(
                s["name"],
                int(state.get("messages", 0)),
                int(state.get("last_seq", 0)),
                (s.get("cluster") or {}).get("leader"),
            )
    return out
