"""Composition root: builds concrete adapters from configuration."""
