"""Prometheus: the metrics ports implemented with prometheus_client, and /metrics."""
