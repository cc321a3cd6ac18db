"""Simulated DERs: pure physics wrapped in real protocol servers (IEC 61850 MMS, SunSpec).

Simulators are field devices, not VPP code: they import at most :mod:`vpp.domain`.
"""
