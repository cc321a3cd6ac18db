"""``vpp.runtime.logs``: one JSON object per record with the correlation fields, readable
text for people, ``auto`` choosing by whether stderr is a terminal."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from vpp.runtime.logs import configure_logging, log_fields, resolve_format


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_records_carry_the_ids_and_the_extras() -> None:
    out = io.StringIO()
    assert configure_logging("json", instance="dispatcher-b", stream=out) == "json"
    log = logging.getLogger("vpp.test")
    log.info("sent %d", 3, extra={"dispatch_id": "d-1", "command_id": "c-9", "der_id": "x"})
    log.debug("not at INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"gateway_id": "gw-1", "stream_seq": 12})
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {
        "ts": first["ts"],
        "level": "INFO",
        "logger": "vpp.test",
        "message": "sent 3",
        "instance": "dispatcher-b",
        "dispatch_id": "d-1",
        "command_id": "c-9",
        "der_id": "x",
    }
    assert first["ts"].endswith("Z") and first["ts"][10] == "T"
    assert second["gateway_id"] == "gw-1" and second["stream_seq"] == 12
    assert "ValueError: boom" in second["exc"] and second["level"] == "ERROR"


def test_text_shows_the_ids_and_auto_picks_by_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Tty()
    assert configure_logging(None, instance="gw", stream=tty) == "text"
    logging.getLogger("vpp.x").warning("device down", extra={"der_id": "bat-1"})
    line = tty.getvalue().strip()
    assert line.endswith("WARNING vpp.x [gw]: device down der_id=bat-1"), line
    assert resolve_format(None, io.StringIO()) == "json"  # not a terminal
    monkeypatch.setenv("VPP_LOG_FORMAT", "text")
    assert resolve_format(None, io.StringIO()) == "text"
    assert resolve_format("json", tty) == "json"  # the flag wins over the environment
    with pytest.raises(ValueError, match="yaml"):
        resolve_format("yaml")


def test_log_fields_takes_what_its_sources_have() -> None:
    class Cmd:
        command_id, der_id, dispatch_id, gateway_id, p_w = "c1", "d1", None, "gw", 5.0

    assert log_fields(Cmd(), seq=7, epoch=None) == {
        "command_id": "c1",
        "der_id": "d1",
        "gateway_id": "gw",
        "seq": 7,
    }
