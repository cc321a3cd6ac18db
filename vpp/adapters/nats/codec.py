"""JSON wire formats of telemetry, commands and acks (DESIGN.md, "NATS JetStream").

Pure functions, no I/O: ``encode_*`` turn domain values into bytes, ``decode_*`` turn
bytes into domain values or raise :class:`CodecError` naming what is wrong.  Every
payload carries ``"v": 1``.  The gateway, the dispatcher and the projector all use this
module, so the three agree on the wire by construction.

``*_msg_id`` give the deterministic ``Nats-Msg-Id`` of a message from its natural key,
so a retried publish is deduplicated by JetStream.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vpp.adapters.nats.codec_json import VERSION as VERSION
from vpp.adapters.nats.codec_json import CodecError as CodecError
from vpp.adapters.nats.codec_json import digest as _digest
from vpp.adapters.nats.codec_json import dumps as _dumps
from vpp.adapters.nats.codec_json import field as _field
from vpp.adapters.nats.codec_json import load_object as _load_object
from vpp.adapters.nats.codec_json import number as _number
from vpp.domain.commands import AckOutcome, CommandAck, SetpointCommand
from vpp.domain.errors import InvalidValue
from vpp.domain.ids import ID_PATTERN, ID_REGEX, is_valid_id
from vpp.domain.telemetry import DeviceHealth, Reading, ReadingRow
from vpp.domain.units import Quality, format_rfc3339, parse_rfc3339

_READING_OPTIONAL = ("q_var", "soc", "energy_wh", "p_avail_w", "v_v", "hz", "temp_c")
_ID_MATCH = ID_PATTERN.fullmatch


@dataclass(frozen=True, slots=True)
class TelemetryBatch:
    gateway_id: str
    readings: tuple[Reading, ...]
    health: tuple[DeviceHealth, ...] = ()


# -- telemetry ---------------------------------------------------------------------------


def reading_to_dict(r: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "der_id": r.der_id,
        "ts": format_rfc3339(r.ts),
        "p_w": r.p_w,
        "quality": r.quality.value,
    }
    for name in _READING_OPTIONAL:
        value = getattr(r, name)
        if value is not None:
            out[name] = value
    if r.connected is not None:
        out["connected"] = r.connected
    if r.deadline is not None:
        out["deadline"] = format_rfc3339(r.deadline)
    return out


def reading_from_dict(obj: Any, what: str = "reading") -> Reading:
    if not isinstance(obj, dict):
        raise CodecError(what, "a reading must be a JSON object")
    try:
        ts = parse_rfc3339(_field(obj, "ts", what))
        kwargs: dict[str, Any] = {
            name: _number(obj[name], name, what)
            for name in _READING_OPTIONAL
            if obj.get(name) is not None
        }
        connected = obj.get("connected")
        if connected is not None and not isinstance(connected, bool):
            raise CodecError(what, f"connected must be a boolean, got {connected!r}")
        deadline = obj.get("deadline")
        return Reading(
            der_id=_field(obj, "der_id", what),
            ts=ts,
            p_w=_number(_field(obj, "p_w", what), "p_w", what),
            quality=Quality(obj.get("quality", "good")),
            connected=connected,
            deadline=None if deadline is None else parse_rfc3339(deadline),
            **kwargs,
        )
    except (InvalidValue, ValueError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(what, str(exc)) from None


def health_to_dict(h: DeviceHealth) -> dict[str, Any]:
    return {
        "der_id": h.der_id,
        "ts": format_rfc3339(h.ts),
        "healthy": h.healthy,
        "reason": h.reason,
    }


def health_from_dict(obj: Any, what: str = "health") -> DeviceHealth:
    if not isinstance(obj, dict):
        raise CodecError(what, "a health statement must be a JSON object")
    healthy = _field(obj, "healthy", what)
    reason = obj.get("reason", "")
    if not isinstance(healthy, bool) or not isinstance(reason, str):
        raise CodecError(what, "healthy must be a boolean and reason a string")
    try:
        ts = parse_rfc3339(_field(obj, "ts", what))
        return DeviceHealth(_field(obj, "der_id", what), ts, healthy, reason)
    except (InvalidValue, ValueError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(what, str(exc)) from None


def _health_list(obj: dict[str, Any]) -> tuple[DeviceHealth, ...]:
    """The optional ``health`` list of a telemetry message (absent: no statements)."""
    items = obj.get("health", [])
    if not isinstance(items, list):
        raise CodecError("telemetry", "health must be a list")
    return tuple(health_from_dict(x, f"telemetry health [{i}]") for i, x in enumerate(items))


def encode_telemetry(
    gateway_id: str, readings: Sequence[Reading], health: Sequence[DeviceHealth] = ()
) -> bytes:
    """A telemetry message; ``health`` (the gateway's view of its devices) is sent only
    when there is some, so a message without it is what it always was."""
    obj: dict[str, Any] = {
        "v": VERSION,
        "gateway_id": gateway_id,
        "readings": [reading_to_dict(r) for r in readings],
    }
    if health:
        obj["health"] = [health_to_dict(h) for h in health]
    return _dumps(obj)


def decode_telemetry(data: bytes | str) -> TelemetryBatch:
    obj = _load_object(data, "telemetry")
    gateway_id = _field(obj, "gateway_id", "telemetry")
    if not is_valid_id(gateway_id):
        raise CodecError("telemetry", f"gateway_id must match {ID_REGEX}: {gateway_id!r}")
    items = _field(obj, "readings", "telemetry")
    if not isinstance(items, list):
        raise CodecError("telemetry", "readings must be a list")
    readings = tuple(reading_from_dict(x, f"telemetry reading [{i}]") for i, x in enumerate(items))
    return TelemetryBatch(gateway_id, readings, _health_list(obj))


_QUALITIES = frozenset(q.value for q in Quality)


def _finite(v: Any) -> float | None:
    """``v`` as a finite float, ``None`` for null; anything else raises (any exception)."""
    if v is None:
        return None
    if type(v) is float:
        if v - v == 0.0:  # false for inf and nan
            return v
        raise ValueError(v)
    if type(v) is int:
        f = float(v)  # OverflowError beyond float's range
        if f - f == 0.0:
            return f
    raise ValueError(v)


def _row_fast(x: Any) -> ReadingRow:
    """The common, well-formed reading as a row; any doubt raises (the caller then takes
    the exact path, which either agrees or names the problem)."""
    der_id = x["der_id"]
    if type(der_id) is not str or _ID_MATCH(der_id) is None:
        raise ValueError(der_id)
    ts = datetime.fromisoformat(x["ts"])
    offset = ts.utcoffset()
    if offset is None:
        raise ValueError("naive")
    ts = ts.astimezone(UTC) if offset or ts.tzinfo is not UTC else ts
    quality = x.get("quality", "good")
    if quality not in _QUALITIES:
        raise ValueError(quality)
    connected = x.get("connected")
    if connected is not None and type(connected) is not bool:
        raise ValueError(connected)
    p_w = x["p_w"]
    p_w = p_w if type(p_w) is float and p_w - p_w == 0.0 else _finite(p_w)
    if p_w is None:
        raise ValueError("p_w")
    g = x.get
    soc = _finite(g("soc"))
    if soc is not None and not 0.0 <= soc <= 1.0:
        raise ValueError(soc)
    deadline = g("deadline")
    if deadline is not None:
        deadline = datetime.fromisoformat(deadline)
        if deadline.utcoffset() is None:
            raise ValueError("naive")
        deadline = deadline.astimezone(UTC)
    return (
        der_id,
        ts,
        p_w,
        _finite(g("q_var")),
        soc,
        _finite(g("energy_wh")),
        _finite(g("p_avail_w")),
        connected,
        _finite(g("v_v")),
        _finite(g("hz")),
        _finite(g("temp_c")),
        deadline,
        quality,
    )


def decode_telemetry_rows(
    data: bytes | str, subject_gateway: str | None = None
) -> tuple[str, list[ReadingRow]]:
    """Like :func:`decode_telemetry`, straight to reading rows (the projector's hot path).

    Accepts exactly what :func:`decode_telemetry` accepts and yields the same values: a
    reading the fast check has any doubt about is decoded by :func:`reading_from_dict`,
    which names what is wrong.  With ``subject_gateway`` (the gateway token of the
    subject the message came on) the payload's ``gateway_id`` must be that gateway.
    """
    gateway_id, rows, _ = decode_telemetry_items(data, subject_gateway)
    return gateway_id, rows


def decode_telemetry_items(
    data: bytes | str, subject_gateway: str | None = None
) -> tuple[str, list[ReadingRow], tuple[DeviceHealth, ...]]:
    """:func:`decode_telemetry_rows` and the message's health statements."""
    obj = _load_object(data, "telemetry")
    gateway_id = _field(obj, "gateway_id", "telemetry")
    if not is_valid_id(gateway_id):
        raise CodecError("telemetry", f"gateway_id must match {ID_REGEX}: {gateway_id!r}")
    if subject_gateway is not None and gateway_id != subject_gateway:
        raise CodecError(
            "telemetry",
            f"gateway_id {gateway_id!r} is not the gateway of the subject ({subject_gateway!r})",
        )
    items = _field(obj, "readings", "telemetry")
    if not isinstance(items, list):
        raise CodecError("telemetry", "readings must be a list")
    rows: list[ReadingRow] = []
    append = rows.append
    for i, x in enumerate(items):
        try:
            append(_row_fast(x))
        except Exception:
            append(reading_from_dict(x, f"telemetry reading [{i}]").as_row())
    return gateway_id, rows, _health_list(obj)


def telemetry_of_ders(data: bytes, der_ids: Container[str]) -> bytes:
    """A decoded telemetry message again, with only the readings of ``der_ids`` (what a
    partly refused message's dead letter carries)."""
    obj = _load_object(data, "telemetry")
    obj["readings"] = [x for x in obj["readings"] if x.get("der_id") in der_ids]
    if "health" in obj:
        obj["health"] = [x for x in obj["health"] if x.get("der_id") in der_ids]
    return _dumps(obj)


def telemetry_msg_id(
    gateway_id: str, readings: Sequence[Reading], health: Sequence[DeviceHealth] = ()
) -> str:
    """Deterministic from the readings' natural keys ``(der_id, ts)`` and the health
    statements' ``(der_id, ts, healthy)``; the same as before for a message without any."""
    keys = [f"{r.der_id}@{format_rfc3339(r.ts)}" for r in readings]
    keys += [f"health:{h.der_id}@{format_rfc3339(h.ts)}:{h.healthy}" for h in health]
    return f"t-{gateway_id}-{len(readings)}-{_digest(keys)}"


# -- commands ----------------------------------------------------------------------------


def encode_command(cmd: SetpointCommand) -> bytes:
    """The gateway id is not in the payload: it is in the subject ``vpp.command.<gw>.<der>``."""
    return _dumps(
        {
            "v": VERSION,
            "command_id": cmd.command_id,
            "der_id": cmd.der_id,
            "seq": cmd.seq,
            "p_w": cmd.p_w,
            "valid_from": format_rfc3339(cmd.valid_from),
            "valid_until": format_rfc3339(cmd.valid_until),
            "dispatch_id": cmd.dispatch_id,
            "epoch": cmd.epoch,
        }
    )


def decode_command(data: bytes | str, gateway_id: str) -> SetpointCommand:
    """``gateway_id`` comes from the subject the command arrived on."""
    what = "command"
    obj = _load_object(data, what)
    seq = _field(obj, "seq", what)
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise CodecError(what, f"seq must be an integer, got {seq!r}")
    epoch = obj.get("epoch", 0)  # absent: a sender without leader election
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise CodecError(what, f"epoch must be an integer, got {epoch!r}")
    try:
        return SetpointCommand(
            command_id=_field(obj, "command_id", what),
            der_id=_field(obj, "der_id", what),
            gateway_id=gateway_id,
            seq=seq,
            p_w=_number(_field(obj, "p_w", what), "p_w", what),
            valid_from=parse_rfc3339(_field(obj, "valid_from", what)),
            valid_until=parse_rfc3339(_field(obj, "valid_until", what)),
            dispatch_id=obj.get("dispatch_id"),
            epoch=epoch,
        )
    except InvalidValue as exc:
        raise CodecError(what, str(exc)) from None


def command_msg_id(cmd: SetpointCommand) -> str:
    return f"c-{cmd.command_id}"


# -- acks --------------------------------------------------------------------------------


def encode_ack(ack: CommandAck) -> bytes:
    return _dumps(
        {
            "v": VERSION,
            "command_id": ack.command_id,
            "der_id": ack.der_id,
            "gateway_id": ack.gateway_id,
            "seq": ack.seq,
            "outcome": ack.outcome.value,
            "ts": format_rfc3339(ack.ts),
            "p_w_requested": ack.p_w_requested,
            "p_w_applied": ack.p_w_applied,
            "clamped": ack.clamped,
            "reason": ack.reason,
            "dispatch_id": ack.dispatch_id,
        }
    )


def decode_ack(data: bytes | str) -> CommandAck:
    what = "ack"
    obj = _load_object(data, what)
    seq = _field(obj, "seq", what)
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise CodecError(what, f"seq must be an integer, got {seq!r}")
    applied = obj.get("p_w_applied")
    clamped = obj.get("clamped", False)
    reason = obj.get("reason", "")
    if not isinstance(clamped, bool) or not isinstance(reason, str):
        raise CodecError(what, "clamped must be a boolean and reason a string")
    try:
        return CommandAck(
            command_id=_field(obj, "command_id", what),
            der_id=_field(obj, "der_id", what),
            gateway_id=_field(obj, "gateway_id", what),
            seq=seq,
            outcome=AckOutcome(_field(obj, "outcome", what)),
            ts=parse_rfc3339(_field(obj, "ts", what)),
            p_w_requested=_number(_field(obj, "p_w_requested", what), "p_w_requested", what),
            p_w_applied=None if applied is None else _number(applied, "p_w_applied", what),
            clamped=clamped,
            reason=reason,
            dispatch_id=obj.get("dispatch_id"),
        )
    except (InvalidValue, ValueError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(what, str(exc)) from None


def ack_msg_id(ack: CommandAck) -> str:
    """One ack per command and outcome: a re-published ack is deduplicated."""
    return f"a-{ack.command_id}-{ack.outcome.value}"


def dead_letter_payload(subject: str, reason: str, data: bytes) -> bytes:
    return _dumps(
        {
            "v": VERSION,
            "subject": subject,
            "reason": reason,
            "payload": data.decode("utf-8", errors="replace"),
        }
    )
