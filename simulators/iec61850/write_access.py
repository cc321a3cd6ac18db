"""Accept a client's write to one setting (FC SP) while the other settings stay read-only.

libiec61850 calls a write access handler registered for an attribute before it applies
the write, whatever the FC's default policy; pyiec61850-ng has no Python wrapper for that
callback, so it is registered through ctypes on the bundled libiec61850 (the same library
the SWIG module already loaded).  The handler runs on the thread that calls
``IedServer_processIncomingData`` (here: the owner's sweep, threadless servers).
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
from collections.abc import Callable
from typing import Any

import pyiec61850.pyiec61850 as iec

log = logging.getLogger(__name__)

SUCCESS: int = int(iec.DATA_ACCESS_ERROR_SUCCESS)  # -1: apply the value
VALUE_INVALID: int = int(iec.DATA_ACCESS_ERROR_OBJECT_VALUE_INVALID)
_HANDLER = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        pkg = os.path.dirname(os.path.abspath(iec.__file__))
        found = sorted(
            glob.glob(os.path.join(os.path.dirname(pkg), "pyiec61850*.libs", "libiec61850*.so*"))
        )
        found += sorted(glob.glob(os.path.join(pkg, "libiec61850*.so*")))
        if not found:
            raise RuntimeError("bundled libiec61850 not found next to pyiec61850")
        lib = ctypes.CDLL(found[0])
        lib.IedServer_handleWriteAccess.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, _HANDLER, ctypes.c_void_p,
        ]  # fmt: skip
        lib.IedServer_handleWriteAccess.restype = None
        lib.MmsValue_toInt32.argtypes = [ctypes.c_void_p]
        lib.MmsValue_toInt32.restype = ctypes.c_int32
        lib.MmsValue_getType.argtypes = [ctypes.c_void_p]
        lib.MmsValue_getType.restype = ctypes.c_int
        _lib = lib
    return _lib


def _address(swig: object) -> int:
    """The C pointer behind a SWIG object (a proxy class keeps it in ``.this``)."""
    pointer: Any = getattr(swig, "this", swig)
    return int(pointer)


def accept_int_writes(server: object, attribute: object, accept: Callable[[int], bool]) -> object:
    """Let clients write the INT32 ``attribute`` when ``accept(value)`` says yes.

    Returns the C callback; the caller keeps it referenced as long as ``server`` lives."""
    lib = _library()

    def handler(_da: int, value: int, _conn: int, _param: int) -> int:
        try:
            if lib.MmsValue_getType(value) not in (iec.MMS_INTEGER, iec.MMS_UNSIGNED):
                return VALUE_INVALID
            return SUCCESS if accept(int(lib.MmsValue_toInt32(value))) else VALUE_INVALID
        except Exception:  # never raise into C
            log.exception("write handler failed")
            return VALUE_INVALID

    callback = _HANDLER(handler)
    lib.IedServer_handleWriteAccess(_address(server), _address(attribute), callback, None)
    return callback
