"""Watching the playground's processes until a stop signal or the end of its duration.

One box (one NATS node, one process of each kind): any death stops the playground, its
log tail shown — nothing is left half running.  A local cluster (``--nats-nodes 3``,
``--projectors N``, ``--dispatchers N``) is meant to survive the loss of one process, as
a deployment under systemd does: a process that crashed or was killed is started
again after :data:`RESTART_AFTER_S` (long enough for its peers to take over its work
first, which is what the kill tests look at), one that stopped cleanly (SIGTERM, exit 0:
an operator's restart) at once; ``info.json`` is written again with its new PID.  A NATS
node comes back with its store and catches up from its peers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from vpp.bootstrap.playground_nats import nodes_of

if TYPE_CHECKING:
    from vpp.bootstrap.playground import PlaygroundOptions, Stack
    from vpp.bootstrap.processes import Child

#: a dead process of a local cluster is started again this long after it died
RESTART_AFTER_S = 10.0


def heals(options: PlaygroundOptions) -> bool:
    """Whether this playground is a local cluster that restarts what dies."""
    return options.nats_nodes > 1 or options.projectors > 1 or options.dispatchers > 1


def _report_death(stack: Stack, name: str, code: int | None, tail: str) -> None:
    stack.echo(f"\n{name} exited ({code}):\n{tail}", err=True)


def _dead_nats(stack: Stack) -> list[int]:
    return [i for i, node in enumerate(nodes_of(stack.nats)) if not node.alive()]


def _nats_tail(stack: Stack, index: int) -> str:
    node = nodes_of(stack.nats)[index]
    text = node.log_file.read_text(errors="replace") if node.log_file.exists() else ""
    return "\n".join(text.splitlines()[-10:])


class Healer:
    """Restarts dead children (and NATS nodes of a cluster) after a delay; says False
    when what died cannot heal (one box), and the playground stops."""

    def __init__(self, stack: Stack, options: PlaygroundOptions, on_restart: Callable[[], None]):
        self.stack, self.on_restart = stack, on_restart
        self.children, self.nats_cluster = heals(options), options.nats_nodes > 1
        self.dead_since: dict[str, float] = {}

    def _due(self, key: str, code: int | None, tail: str) -> bool:
        now = time.monotonic()
        wait = 0.0 if code == 0 else RESTART_AFTER_S
        if key not in self.dead_since:
            self.dead_since[key] = now
            if code == 0:
                self.stack.echo(f"  {key:<16} stopped cleanly; started again at once")
            else:
                _report_death(self.stack, key, code, tail)
                self.stack.echo(f"  (started again in {wait:.0f} s)", err=True)
        return now - self.dead_since[key] >= wait

    def child(self, child: Child) -> bool:
        if not self.children:
            _report_death(self.stack, child.name, child.process.returncode, child.tail())
            return False
        if self._due(child.name, child.process.returncode, child.tail()):
            self.stack.sup.restart(child)
            del self.dead_since[child.name]
            self.stack.echo(f"  {child.name:<16} started again, pid {child.pid}")
            self.on_restart()
        return True

    def nats(self, index: int) -> bool:
        node, name = nodes_of(self.stack.nats)[index], f"nats-{index + 1}"
        tail = _nats_tail(self.stack, index)
        if not self.nats_cluster:
            _report_death(self.stack, "nats-server", node.process.returncode, tail)
            return False
        if self._due(name, node.process.returncode, tail):
            self.stack.nats.restart_node(index)
            del self.dead_since[name]
            self.stack.echo(
                f"  {name:<16} started again, pid {nodes_of(self.stack.nats)[index].pid}"
            )
            self.on_restart()
        return True


def watch(
    stack: Stack,
    stop: threading.Event,
    options: PlaygroundOptions,
    on_restart: Callable[[], None],
) -> bool:
    """Wait for a stop signal, the end of ``duration_s`` or a death it does not heal;
    True after such a death."""
    deadline = None if options.duration_s is None else time.monotonic() + options.duration_s
    healer = Healer(stack, options, on_restart)
    while not stop.wait(1.0):
        if not all(healer.nats(i) for i in _dead_nats(stack)):
            return True
        if not all(healer.child(c) for c in stack.sup.dead()):
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
    return False
