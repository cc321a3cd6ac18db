"""SunSpec model layouts for the gateway: pysunspec2's bundled model definitions read
through the shared codec (:func:`vpp.codecs.sunspec.layout_from_definition`)."""

from __future__ import annotations

from functools import cache

from sunspec2.device import get_model_def

from vpp.codecs.sunspec import ModelLayout, SunSpecDecodeError, layout_from_definition


@cache
def model_layout(model_id: int) -> ModelLayout:
    """Top-level points of a model, from pysunspec2's bundled JSON definition."""
    try:
        model_def = get_model_def(model_id)
    except Exception as exc:
        raise SunSpecDecodeError(f"no SunSpec definition for model {model_id}: {exc}") from exc
    return layout_from_definition(model_def)
