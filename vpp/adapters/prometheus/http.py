"""The operations endpoint of every long-running process: ``/metrics`` (Prometheus text
format of one registry), ``/healthz`` (the process is alive: 200) and ``/readyz`` (200
when it is doing its work, else 503 with a JSON reason), served from a daemon thread.

``ready`` is called on every ``/readyz`` request from the server thread: it must be cheap
and thread-safe (read a flag the process keeps, never block on I/O). It returns ``None``
when ready, or the reason it is not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

#: ``None`` when ready, else why not (shown in the 503 body)
Readiness = Callable[[], str | None]


@dataclass
class OpsEndpoint:
    """A running ops endpoint; :meth:`stop` shuts it down."""

    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        host = self.server.server_address[0]
        return f"http://{host!s}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _handler(registry: CollectorRegistry, ready: Readiness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/healthz":
                self._json(200, {"status": "alive"})
            elif path == "/readyz":
                try:
                    reason = ready()
                except Exception as exc:  # a broken probe is "not ready", never a crash
                    reason = f"readiness probe failed: {exc}"
                if reason is None:
                    self._json(200, {"status": "ready"})
                else:
                    self._json(503, {"status": "not ready", "reason": reason})
            else:
                self._json(404, {"title": "Not Found", "status": 404, "detail": path})

        def _json(self, status: int, body: dict[str, object]) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # scrapes every second would flood the process's log

    return Handler


def serve_ops(
    host: str, port: int, registry: CollectorRegistry, ready: Readiness | None = None
) -> OpsEndpoint:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` (0: any free port)
    from a daemon thread; ``ready`` defaults to always ready."""
    server = ThreadingHTTPServer((host, port), _handler(registry, ready or (lambda: None)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"ops:{port}", daemon=True)
    thread.start()
    return OpsEndpoint(server, thread)
