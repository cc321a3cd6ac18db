"""Logging of every long-running process: one JSON object per line, or readable text.

``configure_logging(fmt, instance=...)`` sets up the root logger once per process:

* ``json`` — each record is one line ``{"ts", "level", "logger", "message", "instance",
  ...}`` with the correlation fields of :data:`FIELDS` when the call passes them
  (``log.info("sent", extra={"dispatch_id": d, "command_id": c, "der_id": x})``), then
  any other extra the call passes, and ``exc`` with the traceback of an exception.
  This is what log shippers (journald → Loki, Vector, Fluent Bit) want.
* ``text`` — ``ts LEVEL logger [instance]: message key=value ...`` (the correlation
  fields), for people.
* ``auto`` (the default) — text when stderr is a terminal, JSON otherwise (a systemd
  unit, a container).  ``vpp playground`` sets ``VPP_LOG_FORMAT=text`` for its children,
  so the logs under its run directory stay readable.

Stdlib only: every layer may log; only the CLI configures.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal

#: the correlation fields a log call may pass in ``extra`` (in this order in the output)
FIELDS: tuple[str, ...] = (
    "dispatch_id",
    "command_id",
    "der_id",
    "gateway_id",
    "plant_id",
    "seq",
    "epoch",
)
LogFormat = Literal["auto", "json", "text"]
FORMATS: tuple[str, ...] = ("auto", "json", "text")
#: the environment variable a CLI reads when ``--log-format`` is not given
ENV = "VPP_LOG_FORMAT"


def log_fields(*sources: object, **more: object) -> dict[str, object]:
    """The correlation fields (:data:`FIELDS`) of ``sources`` (a command, an ack, a
    dispatch: whatever attributes of those names they have) and ``more``, for ``extra=``."""
    out: dict[str, object] = {}
    for source in sources:
        for k in FIELDS:
            value = getattr(source, k, None)
            if value is not None:
                out[k] = value
    out.update({k: v for k, v in more.items() if v is not None})
    return out


def _ts(record: logging.LogRecord) -> str:
    at = datetime.fromtimestamp(record.created, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


#: what every LogRecord has (and uvicorn's coloured copy of the message): not an extra
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


def _ids(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in FIELDS if getattr(record, k, None) is not None}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The extras of ``record``: :data:`FIELDS` first, then any other the call passed."""
    first = _ids(record)
    rest = {
        k: v
        for k, v in vars(record).items()
        if k not in _STANDARD and k not in first and v is not None and not k.startswith("_")
    }
    return first | rest


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record; values that JSON cannot hold become strings."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _ts(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "instance": self.instance,
            **_fields(record),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


class TextLogFormatter(logging.Formatter):
    """``ts LEVEL logger [instance]: message key=value ...`` (the :data:`FIELDS` only)."""

    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _ids(record).items())
        line = (
            f"{_ts(record)} {record.levelname} {record.name} [{self.instance}]: "
            f"{record.getMessage()}{' ' + extras if extras else ''}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolve_format(fmt: str | None, stream: Any = None) -> Literal["json", "text"]:
    """``fmt`` (or ``$VPP_LOG_FORMAT``, or ``auto``) made concrete for ``stream``."""
    chosen = (fmt or os.environ.get(ENV) or "auto").lower()
    if chosen not in FORMATS:
        raise ValueError(f"log format {chosen!r}: expected one of {', '.join(FORMATS)}")
    if chosen == "auto":
        isatty = getattr(stream or sys.stderr, "isatty", None)
        return "text" if isatty is not None and isatty() else "json"
    return "json" if chosen == "json" else "text"


def configure_logging(
    fmt: str | None = None,
    *,
    instance: str,
    level: str | int = logging.INFO,
    stream: Any = None,
) -> Literal["json", "text"]:
    """Send every record of this process to ``stream`` (stderr) in ``fmt``; returns the
    format chosen.  Replaces handlers configured before (a second call reconfigures)."""
    concrete = resolve_format(fmt, stream)
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonLogFormatter if concrete == "json" else TextLogFormatter
    handler.setFormatter(formatter(instance))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return concrete
