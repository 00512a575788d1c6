"""Pure ASGI middleware of the web app: security headers on every answer, and a request body limit.

**Body limit.** A request body may hold at most :data:`DEFAULT_MAX_BODY` (1 MB) unless its route says
otherwise with :func:`max_body` (a document upload, say). A declared Content-Length over the limit
is answered 413 at once, before any of the body is read; a body without one (chunked) is counted as
it arrives and answered 413 as soon as it passes the limit. Nothing over the limit is buffered.

**Headers.** A Content-Security-Policy that allows only this server's own scripts (the vendored htmx,
mermaid and Swagger UI under /static) and inline scripts carrying the request's nonce
(``{{ csp_nonce }}`` in templates: ``<script nonce="{{ csp_nonce }}">``; inline event handlers such
as ``onclick=`` are refused by browsers, so put behaviour in /static/app.js); no framing, no
sniffing, same-origin referrers; no-store except for /static; and HSTS when the cookies are
Secure (the app is behind HTTPS).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MB = 1024 * 1024
DEFAULT_MAX_BODY = 1 * MB
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

F = TypeVar("F", bound=Callable[..., Any])


def max_body(limit: int) -> Callable[[F], F]:
    """Let this route take a body of up to `limit` bytes. Put it under the route decorator:

        @router.post("/imports/filings")
        @max_body(20 * MB)
        async def import_filings(...): ...
    """
    def mark(endpoint: F) -> F:
        endpoint.__dict__["zcflow_max_body"] = int(limit)
        return endpoint
    return mark


def route_limit(scope: Scope) -> int:
    """The body limit of the route this request goes to (the default when none says otherwise)."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            endpoint = getattr(route, "endpoint", None)
            return int(getattr(endpoint, "zcflow_max_body", DEFAULT_MAX_BODY))
    return DEFAULT_MAX_BODY


def _too_large_response(scope: Scope, limit: int) -> tuple[Message, Message]:
    path = str(scope.get("path", ""))
    if path == "/api" or path.startswith("/api/"):
        body = json.dumps({"error": "payload_too_large",
                           "message": f"请求体过大：最多 {limit} 字节 (request body over {limit} bytes)"},
                          ensure_ascii=False).encode()
        kind = b"application/json"
    else:
        body = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>请求过大</title>"
                f"<h1>请求过大</h1><p>提交的内容超过 {limit // 1024} KB 的上限。</p>"
                "<p><a href=\"/\">返回首页</a></p></html>").encode()
        kind = b"text/html; charset=utf-8"
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared <= DEFAULT_MAX_BODY:
            await self.app(scope, receive, send)  # the server reads no more than it declared
            return
        limit = route_limit(scope)
        if declared is not None and declared > limit:
            for message in _too_large_response(scope, limit):
                await send(message)
            return
        received = 0
        over = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    for m in _too_large_response(scope, limit):
                        await send(m)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            for m in _too_large_response(scope, limit):
                await send(m)


CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),            # no framing: clickjacking of the action buttons
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
NO_STORE = (b"cache-control", b"no-store")  # pages and API answers hold personal data
HSTS = (b"strict-transport-security", b"max-age=31536000")


def csp_nonce(scope_state: Any) -> str:
    """The request's CSP nonce (what templates put on inline scripts)."""
    nonce = getattr(scope_state, "csp_nonce", None)
    return nonce if isinstance(nonce, str) else ""


class SecurityHeaders:
    """The headers above on every response, with a fresh CSP nonce per request; no-store except
    for /static; HSTS when `hsts`."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        extra = [*SECURITY_HEADERS, (b"content-security-policy", CSP.format(nonce=nonce).encode())]
        if not static:
            extra.append(NO_STORE)
        if self.hsts:
            extra.append(HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
