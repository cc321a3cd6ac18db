"""What every layer may use of the running system: the wall clock, child processes and
owner-only files.

Stdlib only and deliberately small; the domain stays free of clock reads (it is handed
times), everything else takes its ``now`` from :class:`SystemClock` or :func:`utc_now`.
"""

from vpp.runtime.clock import SystemClock, utc_now
from vpp.runtime.files import private_dir, private_sqlite_file
from vpp.runtime.processes import stop_process, stop_processes

__all__ = [
    "SystemClock",
    "private_dir",
    "private_sqlite_file",
    "stop_process",
    "stop_processes",
    "utc_now",
]
