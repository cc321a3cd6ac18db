"""Fixtures of the dispatcher tests: the store with a registered plant, and JetStream."""

from tests.harness.dispatching import js, store

__all__ = ["js", "store"]
