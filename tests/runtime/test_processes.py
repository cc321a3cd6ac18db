"""The one SIGTERM-then-SIGKILL: a polite child exits on SIGTERM, a stubborn one is killed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from vpp.runtime import stop_process, stop_processes, utc_now

POLITE = "import time\nprint('up', flush=True)\ntime.sleep(60)"
STUBBORN = (
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('up', flush=True)\ntime.sleep(60)"
)


def _spawn(code: str) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "up"  # handler installed
    return p


def test_sigterm_stops_a_polite_child() -> None:
    p = _spawn(POLITE)
    assert stop_process(p, grace_s=5.0) == -signal.SIGTERM


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    polite, stubborn = _spawn(POLITE), _spawn(STUBBORN)
    t0 = time.monotonic()
    codes = stop_processes([polite, stubborn], grace_s=0.5)
    assert codes == [-signal.SIGTERM, -signal.SIGKILL]
    assert time.monotonic() - t0 >= 0.5  # it was given its grace period first
    assert polite.poll() is not None and stubborn.poll() is not None  # both reaped


def test_an_exited_process_keeps_its_exit_code() -> None:
    p = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    p.wait()
    assert stop_process(p) == 3


def test_utc_now_is_timezone_aware() -> None:
    assert utc_now().utcoffset() is not None
