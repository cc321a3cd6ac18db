"""Wire formats: round trips, deterministic message ids, clear errors on malformed input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpp.adapters.nats import codec
from vpp.domain import AckOutcome, CommandAck, Quality, Reading, SetpointCommand

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _cmd(**kw: object) -> SetpointCommand:
    base: dict[str, object] = dict(
        command_id="c1",
        der_id="bat-1",
        gateway_id="gw1",
        seq=3,
        p_w=-2500.0,
        valid_from=T0,
        valid_until=T0 + timedelta(minutes=5),
        dispatch_id="d-9",
    )
    base.update(kw)
    return SetpointCommand(**base)  # type: ignore[arg-type]


def test_telemetry_round_trip_keeps_units_signs_quality_and_source_ts() -> None:
    readings = [
        Reading("pv-1", T0, 4200.5, q_var=-10.0, v_v=231.0, hz=50.01, p_avail_w=5000.0),
        Reading(
            "bat-1",
            T0 + timedelta(microseconds=250),
            -3000.0,
            soc=0.42,
            quality=Quality.QUESTIONABLE,
        ),
        Reading("ev-1", T0, 0.0, connected=False, quality=Quality.INVALID),
    ]
    data = codec.encode_telemetry("gw1", readings)
    obj = json.loads(data)
    assert obj["v"] == 1 and obj["gateway_id"] == "gw1"
    assert obj["readings"][1]["ts"] == "2026-01-01T12:00:00.000250Z"
    batch = codec.decode_telemetry(data)
    assert batch.gateway_id == "gw1"
    assert batch.readings == tuple(readings)


def test_telemetry_msg_id_is_deterministic_and_content_keyed() -> None:
    a = [Reading("pv-1", T0, 1.0), Reading("pv-2", T0, 2.0)]
    b = [Reading("pv-1", T0, 1.0), Reading("pv-2", T0 + timedelta(seconds=1), 2.0)]
    assert codec.telemetry_msg_id("gw1", a) == codec.telemetry_msg_id("gw1", list(a))
    assert codec.telemetry_msg_id("gw1", a) != codec.telemetry_msg_id("gw1", b)
    assert codec.telemetry_msg_id("gw1", a) != codec.telemetry_msg_id("gw2", a)


def test_telemetry_rows_must_come_from_the_gateway_of_their_subject() -> None:
    readings = [Reading("pv-1", T0, 1.0), Reading("bat-1", T0, 2.0)]
    data = codec.encode_telemetry("gw1", readings)
    assert codec.decode_telemetry_rows(data, "gw1")[1] == [r.as_row() for r in readings]
    with pytest.raises(
        codec.CodecError, match=r"'gw1' is not the gateway of the subject \('gw2'\)"
    ):
        codec.decode_telemetry_rows(data, "gw2")
    narrowed = json.loads(codec.telemetry_of_ders(data, {"bat-1"}))
    assert narrowed["gateway_id"] == "gw1"
    assert [r["der_id"] for r in narrowed["readings"]] == ["bat-1"]


def test_command_round_trip_takes_gateway_from_subject() -> None:
    cmd = _cmd()
    data = codec.encode_command(cmd)
    assert "gateway_id" not in json.loads(data)
    assert codec.decode_command(data, "gw1") == cmd


def test_ack_round_trip() -> None:
    ack = CommandAck(
        "c1",
        "bat-1",
        "gw1",
        3,
        AckOutcome.APPLIED,
        T0,
        -6000.0,
        -5000.0,
        clamped=True,
        reason="clamped",
        dispatch_id="d-9",
    )
    assert codec.decode_ack(codec.encode_ack(ack)) == ack
    refused = CommandAck("c2", "bat-1", "gw1", 4, AckOutcome.REJECTED, T0, 1.0, reason="x")
    assert codec.decode_ack(codec.encode_ack(refused)) == refused
    assert codec.ack_msg_id(ack) != codec.ack_msg_id(refused)


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (b"not json", "not JSON"),
        (b"[1,2]", "JSON object"),
        (b'{"v": 2}', "version"),
        (b'{"v": 1, "der_id": "a"}', "missing field"),
        (
            b'{"v":1,"command_id":"c","der_id":"a","seq":"1","p_w":1,'
            b'"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T00:01:00Z"}',
            "seq",
        ),
        (
            b'{"v":1,"command_id":"c","der_id":"a.b","seq":1,"p_w":1,'
            b'"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T00:01:00Z"}',
            "der_id",
        ),
        (
            b'{"v":1,"command_id":"c","der_id":"a","seq":1,"p_w":1,'
            b'"valid_from":"2026-01-01T00:00:00","valid_until":"2026-01-01T00:01:00Z"}',
            "timestamp",
        ),
        (
            b'{"v":1,"command_id":"c","der_id":"a","seq":1,"p_w":"x",'
            b'"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-01T00:01:00Z"}',
            "number",
        ),
    ],
)
def test_malformed_commands_raise_codec_error_with_reason(payload: bytes, needle: str) -> None:
    with pytest.raises(codec.CodecError) as err:
        codec.decode_command(payload, "gw1")
    assert needle in str(err.value)


def test_malformed_telemetry_and_ack_raise_codec_error() -> None:
    with pytest.raises(codec.CodecError, match="readings"):
        codec.decode_telemetry(b'{"v":1,"gateway_id":"g","readings":{}}')
    with pytest.raises(codec.CodecError, match="soc"):
        codec.decode_telemetry(
            b'{"v":1,"gateway_id":"g","readings":[{"der_id":"a","ts":"2026-01-01T00:00:00Z",'
            b'"p_w":1,"soc":1.5}]}'
        )
    with pytest.raises(codec.CodecError, match="AckOutcome"):
        codec.decode_ack(
            b'{"v":1,"command_id":"c","der_id":"a","gateway_id":"g","seq":1,"outcome":"meh",'
            b'"ts":"2026-01-01T00:00:00Z","p_w_requested":1}'
        )


# -- the projector's fast telemetry decoder must agree with the exact one ----------------

_MISSING = object()
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.just(_MISSING),
)
_times = st.one_of(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), None]),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-01-01T00:00:00z", "2026-01-01T00:00:00.5Z", "nope", "", 17]),
)
_fields = {
    "der_id": st.one_of(
        st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        st.text(max_size=70),
        st.integers(),
        st.just(_MISSING),
    ),
    "ts": st.one_of(_times, st.just(_MISSING)),
    "deadline": st.one_of(_times, st.none(), st.just(_MISSING)),
    "quality": st.one_of(
        st.sampled_from(["good", "questionable", "invalid", "bad", None, 1]), st.just(_MISSING)
    ),
    "connected": st.one_of(st.booleans(), st.none(), st.integers(0, 1), st.just(_MISSING)),
    "p_w": _numbers,
    "soc": st.one_of(st.floats(-0.5, 1.5), _numbers),
    **{name: _numbers for name in ("q_var", "energy_wh", "p_avail_w", "v_v", "hz", "temp_c")},
}


@st.composite
def _reading_objects(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2)))
    obj = {k: draw(s) for k, s in _fields.items()}
    if draw(st.booleans()):  # mostly well-formed: only some fields from the wild
        good = {
            "der_id": "pv-1",
            "ts": "2026-01-01T00:00:00.000250Z",
            "p_w": draw(st.floats(-1e6, 1e6)),
            "soc": draw(st.floats(-0.1, 1.1)),
            "q_var": None,
            "quality": "good",
            "connected": draw(st.booleans()),
            "temp_c": draw(st.one_of(st.none(), st.floats(-40, 90))),
            "deadline": draw(st.sampled_from([None, "2026-01-01T08:00:00Z", "2026-01-01T09:00"])),
        }
        wild = draw(st.sets(st.sampled_from(sorted(obj)), max_size=1))
        obj = {**{k: v for k, v in obj.items() if k in wild}, **good}
        obj.update({k: draw(_fields[k]) for k in wild})
    return {k: v for k, v in obj.items() if v is not _MISSING}


@settings(max_examples=400, deadline=None)
@given(st.lists(_reading_objects(), max_size=3))
def test_fast_telemetry_decoder_accepts_and_rejects_exactly_what_the_exact_one_does(
    items: list[object],
) -> None:
    payload = json.dumps({"v": 1, "gateway_id": "gw1", "readings": items}).encode()
    try:
        expected = [r.as_row() for r in codec.decode_telemetry(payload).readings]
    except codec.CodecError as exc:
        with pytest.raises(codec.CodecError) as fast_exc:
            codec.decode_telemetry_rows(payload)
        assert fast_exc.value.reason == exc.reason
        return
    gateway_id, rows = codec.decode_telemetry_rows(payload)
    assert gateway_id == "gw1"
    assert rows == expected
    assert [type(v) for row in rows for v in row] == [type(v) for row in expected for v in row]
    assert all(row[1].tzinfo is UTC for row in rows)
    assert all(row[11] is None or row[11].tzinfo is UTC for row in rows)  # the deadline


def test_oversized_and_deeply_nested_json_is_a_codec_error_not_a_crash() -> None:
    huge = b'{"v":1,"gateway_id":"g","readings":[{"der_id":"d","ts":"2026-01-01T00:00:00Z","p_w":1'
    for payload in (
        huge + b"0" * 400 + b"}]}",  # beyond a float
        huge + b"0" * 5000 + b"}]}",  # beyond Python's int parsing limit
        b"[" * 100_000,
        b'{"v":1,"gateway_id":"g","readings":[{"der_id":"d","ts":5,"p_w":1}]}',
    ):
        with pytest.raises(codec.CodecError):
            codec.decode_telemetry(payload)
        with pytest.raises(codec.CodecError):
            codec.decode_telemetry_rows(payload)


# -- device state and health ---------------------------------------------------------------


def test_device_state_and_health_travel_in_the_telemetry_batch() -> None:
    from vpp.domain import DeviceHealth

    readings = [
        Reading("hp-1", T0, -2000.0, soc=0.35, temp_c=48.5),
        Reading(
            "load-1", T0, -1000.0, soc=0.25, energy_wh=1500.0, deadline=T0 + timedelta(hours=8)
        ),
    ]
    health = [DeviceHealth("hp-1", T0, True), DeviceHealth("bat-9", T0, False, "timeout")]
    data = codec.encode_telemetry("gw1", readings, health)
    obj = json.loads(data)
    assert obj["readings"][1]["deadline"] == "2026-01-01T20:00:00Z"
    assert obj["health"][1] == {
        "der_id": "bat-9", "ts": "2026-01-01T12:00:00Z", "healthy": False, "reason": "timeout"
    }  # fmt: skip
    batch = codec.decode_telemetry(data)
    assert batch.readings == tuple(readings) and batch.health == tuple(health)
    _, rows, said = codec.decode_telemetry_items(data, "gw1")
    assert rows == [r.as_row() for r in readings] and said == tuple(health)
    # a dead letter of refused DERs carries their health statements only
    narrowed = codec.decode_telemetry(codec.telemetry_of_ders(data, {"bat-9"}))
    assert narrowed.readings == () and narrowed.health == (health[1],)
    # the message id: the same as before for readings alone, another one with health
    assert codec.telemetry_msg_id("gw1", readings) == codec.telemetry_msg_id("gw1", readings, ())
    ids = {codec.telemetry_msg_id("gw1", readings, h) for h in ((), health[:1], health)}
    assert len(ids) == 3
    assert codec.telemetry_msg_id("gw1", [], health[:1]) != codec.telemetry_msg_id("gw1", [], ())
    assert "health" not in json.loads(codec.encode_telemetry("gw1", readings))


@pytest.mark.parametrize(
    "health",
    [
        {"der_id": "d", "ts": "2026-01-01T00:00:00Z", "healthy": 1},
        {"der_id": "d", "ts": "2026-01-01T00:00:00", "healthy": True},
        {"der_id": "d d", "ts": "2026-01-01T00:00:00Z", "healthy": True},
        {"der_id": "d", "ts": "2026-01-01T00:00:00Z", "healthy": False, "reason": 5},
        {"der_id": "d", "healthy": False},
        "unhealthy",
    ],
)
def test_a_malformed_health_statement_is_a_codec_error(health: object) -> None:
    payload = json.dumps({"v": 1, "gateway_id": "g", "readings": [], "health": [health]})
    with pytest.raises(codec.CodecError, match="health"):
        codec.decode_telemetry(payload)
    with pytest.raises(codec.CodecError, match="health"):
        codec.decode_telemetry_items(payload)
