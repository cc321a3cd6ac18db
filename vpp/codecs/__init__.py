"""Protocol codecs shared by the simulators and the gateway's adapters (sans-I/O).

Bytes and text in, values out, and back: the SunSpec register codec
(:mod:`vpp.codecs.sunspec`) and the IEC 61850 SCL reader (:mod:`vpp.codecs.scl`).
Nothing here opens a socket or a file, starts a task or imports a protocol library;
import-linter holds the package to the standard library and :mod:`vpp.domain`, so a
simulated device and the gateway that talks to it read the same wire the same way.
"""
