"""What every JSON wire format of :mod:`vpp.adapters.nats.codec` shares: the schema
version, the error it raises, and the small checks of a decoded object."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from vpp.domain.errors import VppError

VERSION = 1


class CodecError(VppError, ValueError):
    """A payload is not valid JSON of the expected shape; ``reason`` says what is wrong."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"malformed {what}: {reason}")
        self.what = what
        self.reason = reason


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def load_object(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(data)
    except ValueError as exc:  # bad JSON, bad UTF-8, an integer of over 4300 digits
        raise CodecError(what, f"not JSON ({exc})") from None
    except RecursionError:
        raise CodecError(what, "not JSON (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise CodecError(what, f"expected a JSON object, got {type(obj).__name__}")
    if obj.get("v") != VERSION:
        raise CodecError(what, f"unsupported schema version v={obj.get('v')!r}")
    return obj


def field(obj: dict[str, Any], name: str, what: str) -> Any:
    if name not in obj:
        raise CodecError(what, f"missing field {name!r}")
    return obj[name]


def number(value: Any, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(what, f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise CodecError(what, f"{name} is beyond the range of a float") from None


def digest(parts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\n")
    return h.hexdigest()[:32]
