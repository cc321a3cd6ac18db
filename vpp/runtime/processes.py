"""Stopping child processes by PID: SIGTERM, a grace period, then SIGKILL, always reaped.

Written once here for every launcher (the playground's children, nats-server, MariaDB,
simulator fleet workers): a process that ignores SIGTERM is killed, never left behind.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any

#: how long a process killed with SIGKILL may take to be reaped before we give up waiting
KILL_WAIT_S = 10.0


def stop_processes(
    processes: Sequence[subprocess.Popen[Any]], grace_s: float = 10.0
) -> list[int | None]:
    """SIGTERM every running process at once, wait up to ``grace_s`` for all of them
    together, SIGKILL those still running; return each one's exit code, in order.

    A code is ``None`` only when a killed process could not be reaped in time.
    """
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    codes: list[int | None] = []
    for p in processes:
        try:
            codes.append(p.wait(timeout=max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            p.kill()
            try:
                codes.append(p.wait(timeout=KILL_WAIT_S))
            except subprocess.TimeoutExpired:
                codes.append(None)
    return codes


def stop_process(process: subprocess.Popen[Any], grace_s: float = 10.0) -> int | None:
    """:func:`stop_processes` for one process."""
    return stop_processes([process], grace_s)[0]
