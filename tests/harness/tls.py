"""TLS for tests: a one-connection TLS server on a loopback port, to shake hands with."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class TlsPeer:
    """What the server saw: the client certificate's subject, or the handshake error."""

    port: int
    client_subject: tuple[object, ...] | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


@contextmanager
def tls_server(ctx: ssl.SSLContext) -> Iterator[TlsPeer]:
    """Accept one connection with ``ctx``; on success send ``b"ok"`` and close."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    peer = TlsPeer(listener.getsockname()[1])

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with ctx.wrap_socket(conn, server_side=True) as tls:
                cert = tls.getpeercert()
                peer.client_subject = tuple(cert["subject"]) if cert else None
                tls.sendall(b"ok")
        except (OSError, ssl.SSLError) as exc:
            peer.error = exc
        finally:
            peer.done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        listener.close()
        thread.join(10)


def shake_hands(ctx: ssl.SSLContext, port: int, server_hostname: str = "127.0.0.1") -> bytes:
    """Connect with ``ctx`` and read the server's greeting (raises on a failed handshake)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(2)
