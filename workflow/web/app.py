"""The web app: server-rendered pages at /, the JSON API at /api/, OpenAPI at /openapi.json.

``create_app(db)`` builds it over one database; ``serve(db, host, port)`` runs it with uvicorn
(`zcflow serve`, and `zcflow demo` beside the scheduler).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from states.labels import ERROR_LABELS, FIELD_LABELS
from storage.db import DatabaseUnavailable, outage
from workflow import clock as clock_module
from workflow.engine import Workflow
from workflow.errors import WorkflowError
from workflow.web import (
    accounts,
    api,
    audit_pages,
    calendar_pages,
    document_pages,
    filings_page,
    incidents,
    pages,
    rounds,
    status_page,
)
from workflow.web.auth import LoginRequired, Signer, Unauthenticated, secret_key, session_user
from workflow.web.csrf import CsrfFailed
from workflow.web.jsonresp import FastJSONResponse
from workflow.web.login import TooManyAttempts
from workflow.web.middleware import BodyLimit, SecurityHeaders
from workflow.web.render import STATIC, make_env, render
from workflow.web.service import WebContext
from workflow.web.users import load_user

log = logging.getLogger("zcflow.web")
OUTAGE_RETRY_AFTER = 5  # seconds

ERROR_TITLES = {
    400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "未找到", 405: "不支持的请求方式",
    409: "操作冲突", 413: "请求过大", 422: "输入有误", 429: "请求过于频繁", 503: "服务暂不可用",
}


PAGE_ERRORS = {404: "没有这个页面", 405: "不支持的请求方式", 422: "请求内容有误"}


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if not errors:
        return "(input)", "invalid input"
    err = errors[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
    where = ".".join(loc) or "(input)"
    return where, f"{where}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    found = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            found.append(method)
    return found


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return render(request, "error.html", {"title": ERROR_TITLES.get(status, "出错了"), "detail": message,
                                          "status": status}, user=session_user(request), status=status,
                  headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WorkflowError)
    async def workflow_error(request: Request, exc: WorkflowError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else {}
        if is_api(request):
            if exc.http_status == 401:
                headers["WWW-Authenticate"] = "Bearer"
            return FastJSONResponse(exc.to_json(), status_code=exc.http_status, headers=headers or None)
        return _error_page(request, exc.http_status, exc.zh, headers)

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(DatabaseUnavailable)
    async def database_error(request: Request, exc: Exception) -> Response:
        down = outage(exc)
        if down is None:
            raise exc  # a bug, not an outage: the server's 500
        log.warning("%s %s: %s", request.method, request.url.path, down)  # one line, password masked
        headers = {"Retry-After": str(OUTAGE_RETRY_AFTER)}
        if is_api(request):
            return JSONResponse({"error": "database_unavailable", "message": "数据库暂时无法使用，请稍后再试 "
                                 "(the database is unavailable; try again later)"}, status_code=503, headers=headers)
        return render(request, "error.html", {"title": ERROR_TITLES[503], "status": 503,
                                              "detail": "数据库暂时无法使用，请稍后再试。"}, user=None, status=503,
                      headers=headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = f"/login?next={quote(exc.next_path, safe='')}"
        if request.headers.get("hx-request"):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error_page(request, 403, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        where, message = _validation_message(exc)
        zh = f"{FIELD_LABELS.get(where.split('.')[0], '输入')}有误"
        if is_api(request):
            return JSONResponse({"error": "invalid_input", "message": zh, "detail": message, "field": where},
                                status_code=422)
        return _error_page(request, 422, zh)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status, headers = exc.status_code, dict(exc.headers or {})
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        message = str(exc.detail)
        if status == 400:  # FastAPI's "error parsing the body": bad input like any other (CONTRACT §7)
            status, code, message = 422, "invalid_input", f"body: {message}"
        if status == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        zh = PAGE_ERRORS.get(status, ERROR_LABELS.get(code, "请求有误"))
        if is_api(request):
            return JSONResponse({"error": code, "message": zh, "detail": message}, status_code=status,
                                headers=headers or None)
        return _error_page(request, status, zh, headers)


def create_app(db: Engine, *, secret: str | None = None,
               clock: Callable[[], dt.datetime] = clock_module.now,
               session_ttl: dt.timedelta = dt.timedelta(hours=8),
               token_ttl: dt.timedelta = dt.timedelta(hours=8),
               secure_cookies: bool | None = None, publish_api_docs: bool | None = None) -> FastAPI:
    """The app over `db` (migrated already). `clock` is what "now" means for actions and
    dashboards (workflow.clock.now, which `zcflow demo` shifts). Cookies are marked Secure (and
    HSTS is sent) when `secure_cookies` or $ZCFLOW_SECURE_COOKIES=1 says so (behind HTTPS); plain
    http on 127.0.0.1 needs them without. /openapi.json and /docs need a login (session or bearer
    token) unless `publish_api_docs` or $ZCFLOW_PUBLISH_API_DOCS=1 publishes them (CONTRACT §8)."""
    if secure_cookies is None:
        secure_cookies = _env_flag("ZCFLOW_SECURE_COOKIES")
    if publish_api_docs is None:
        publish_api_docs = _env_flag("ZCFLOW_PUBLISH_API_DOCS")
    app = FastAPI(
        title="zcflow",
        version="0.1.0",
        summary="职称申报流程管理 — professional-title application rounds",
        description="Pages at `/`; this JSON API under `/api/`. Get a bearer token from `POST /api/token`.",
        docs_url=None,  # served below from the vendored Swagger UI: no CDN at run time
        redoc_url=None,
        openapi_url=None,  # served below, behind a login unless published
    )
    app.state.web = WebContext(db=db, wf=Workflow(db), signer=Signer(secret_key(secret), session_ttl, token_ttl),
                               clock=clock, secure_cookies=secure_cookies)
    app.state.jinja = make_env()
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(rounds.api)
    app.include_router(rounds.pages)
    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(incidents.router)
    app.include_router(status_page.router)
    app.include_router(filings_page.router)
    app.include_router(calendar_pages.router)
    app.include_router(document_pages.router)
    app.include_router(audit_pages.router)

    def docs_reader(request: Request) -> None:
        """Anyone when published; else a logged-in browser or a valid bearer token."""
        if publish_api_docs or session_user(request) is not None:
            return
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            claims = app.state.web.signer.read_token(authorization[7:].strip())
            if claims is not None and load_user(db, claims.user_id, claims.epoch) is not None:
                return
        if request.url.path == "/docs":
            raise LoginRequired("/docs")
        raise Unauthenticated("the API description needs a login: send a bearer token from POST /api/token")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document(request: Request) -> JSONResponse:
        docs_reader(request)
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        docs_reader(request)
        page = get_swagger_ui_html(
            openapi_url="/openapi.json", title="zcflow API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css", swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None})
        # Its one inline script carries the request's CSP nonce.
        nonce = getattr(request.state, "csp_nonce", "")
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(html)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, hsts=secure_cookies)
    return app


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


# How long the server keeps an idle keep-alive connection open. A platform's HTTP client pool drops
# its idle connections after a few seconds (httpx: 5 s). uvicorn's default is 5 s as well: when both
# sides time out together, a request sent on the connection the server is closing is lost in
# transport (the load test's status-0 answers). The server therefore waits longer than the client.
KEEP_ALIVE_SECONDS = 75


def serve(db: Engine, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Run the app with uvicorn until interrupted (the engine keeps nothing in memory). uvicorn uses
    uvloop and httptools when they are installed (dependencies of zcflow; not on Windows for uvloop)
    and asyncio's loop and h11 otherwise."""
    uvicorn.run(create_app(db, **options), host=host, port=port, log_level="info",
                timeout_keep_alive=KEEP_ALIVE_SECONDS)
