"""Prometheus values as a scrape sees them, read from the registry a component was built
with (never through the client library's internals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The value of sample ``name`` (a Counter ``x`` is sampled as ``x_total``); a labelled
    child never touched counts as 0, as the client library would start it."""
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
