"""The dispatcher: follow accepted dispatches with per-DER setpoints, in a closed loop.

:mod:`~.cycle` runs every open dispatch each cycle; :mod:`~.lifecycle` moves it through
the domain's states; :mod:`~.state` is its controller state (persisted every cycle);
:mod:`~.follow`, :mod:`~.feedback` decide who follows and what the acks said;
:mod:`~.delivery` integrates, samples and judges; :mod:`~.emission` sends;
:mod:`~.recovery` fills the gap after a restart.
"""

from __future__ import annotations

from vpp.application.dispatcher.cycle import Dispatcher
from vpp.application.dispatcher.settings import DispatcherSettings
from vpp.application.dispatcher.state import LoopState, SentSetpoint

__all__ = ["Dispatcher", "DispatcherSettings", "LoopState", "SentSetpoint"]
