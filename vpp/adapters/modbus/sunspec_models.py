"""SunSpec model layouts for the gateway: vpp's own models (:mod:`vpp.codecs.sunspec_vpp`)
and pysunspec2's bundled standard definitions, read through the shared codec
(:func:`vpp.codecs.sunspec.layout_from_definition`)."""

from __future__ import annotations

from functools import cache

from sunspec2.device import get_model_def

from vpp.codecs.sunspec import ModelLayout, SunSpecDecodeError, layout_from_definition
from vpp.codecs.sunspec_vpp import VENDOR_MODELS


@cache
def model_layout(model_id: int) -> ModelLayout:
    """Top-level points of a model, from vpp's or pysunspec2's bundled definition."""
    vendor = VENDOR_MODELS.get(model_id)
    if vendor is not None:
        return layout_from_definition(vendor)
    try:
        model_def = get_model_def(model_id)
    except Exception as exc:
        raise SunSpecDecodeError(f"no SunSpec definition for model {model_id}: {exc}") from exc
    return layout_from_definition(model_def)
