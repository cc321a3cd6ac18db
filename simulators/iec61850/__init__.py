"""IEC 61850 MMS simulators: a data model read from an ICD file, served by libiec61850."""

from __future__ import annotations
