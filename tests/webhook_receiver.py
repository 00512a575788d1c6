"""A webhook receiver for the tests (holds no tests): an HTTP server on 127.0.0.1 in a thread, on
a port of this suite's range (8130–8139), that verifies each signature the way the README tells
receivers to, records what it got, and can be told to answer 503, to hang, or to go away."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifications.webhooks import EVENT_HEADER, SIGNATURE_HEADER, verify

PORTS = range(8130, 8140)
SECRET = "receiver-secret-0123456789"


@dataclass
class Received:
    body: bytes
    signature: str | None
    event_header: str | None

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    secret: str = SECRET
    received: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    down: bool = False  # answer 503
    refuse_cases: set[int] = field(default_factory=set)  # answer 500 for these cases' events
    hang_on: int | None = None  # hold the n-th request (1-based) open until `release` is set
    got_hung: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def events(self) -> list[dict[str, Any]]:
        return [r.event for r in self.received]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.down:
                    self._answer(503)
                    return
                signature = self.headers.get(SIGNATURE_HEADER)
                if not verify(receiver.secret, body, signature):
                    receiver.bad_signatures += 1
                    self._answer(401)
                    return
                data = json.loads(body)
                if data["case"] in receiver.refuse_cases:
                    self._answer(500)
                    return
                with receiver._lock:
                    receiver.received.append(Received(body, signature, self.headers.get(EVENT_HEADER)))
                    n = len(receiver.received)
                if receiver.hang_on == n:
                    receiver.got_hung.set()
                    receiver.release.wait(60)
                    return  # no answer at all: the sender is killed meanwhile
                self._answer(204)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        for port in PORTS:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
            server.daemon_threads = True
            self.server, self.port = server, port
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            return self
        raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a receiver that is down)."""
    for port in PORTS:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return f"http://127.0.0.1:{port}/events"
    raise RuntimeError("every port of the range is taken")
