"""Configuration files (YAML), validated with pydantic at the edge.

An invalid file names the file, the field and the reason, and nothing starts.
"""

from vpp.config.loader import ConfigError, load_yaml

__all__ = ["ConfigError", "load_yaml"]
