"""The JSON API under /api/ (bearer tokens; OpenAPI at /openapi.json).

Errors are `{"error": code, "message": ...}` with the status the engine's error names: 422 bad
input, 401 no valid token, 403 not permitted, 404 absent or outside the user's scope, 409 illegal
transition, conflict or duplicate (CONTRACT §3, §8).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Connection

from states.calendar import end_of_day
from states.policy import Policy, get_policy, policies
from states.vocabulary import ALL_STATES, Role
from workflow.engine import Actor
from workflow.errors import InvalidInput, NotFound, NotPermitted
from workflow.web import documents, idempotency, service
from workflow.web.auth import ApiUser, Unauthenticated
from workflow.web.login import attempt_async, client_address
from workflow.web.queries import CaseFilters, list_cases
from workflow.web.schemas import (
    MAX_CASE_ID,
    ActionOut,
    ActionRequest,
    ActionsOut,
    BulkItem,
    BulkOut,
    BulkRequest,
    CaseCreate,
    CaseCreated,
    CaseDetail,
    CasePage,
    CaseSummary,
    CutoffOut,
    ErrorOut,
    MeOut,
    ObjectionRequest,
    PolicyOut,
    Text,
    TokenOut,
    TokenRequest,
    TransitionOut,
    WholeNumber,
)
from workflow.web.scope import visible_policies
from workflow.web.service import WebContext


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效 (no valid bearer token)", 403: "无权执行 (not permitted)",
            404: "不存在或不在权限范围内 (absent or outside your scope)",
            409: "当前状态不允许，或已被他人修改 (illegal transition, conflict, duplicate)",
            422: "输入有误 (invalid input)",
            429: "登录尝试过多，见 Retry-After (too many login attempts; see Retry-After)"}
    return {c: {"model": ErrorOut, "description": text[c]} for c in codes}


def _query_names(dependant: Any) -> set[str]:
    names = {str(p.alias) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def strict_query(request: Request) -> None:
    """Query parameters are the route's own and each is given once: a misspelt filter or
    `?district=a&district=b` is bad input, not silently ignored or settled by the last value. Async:
    it reads nothing, so it runs on the event loop rather than costing a thread hop."""
    route = request.scope.get("route")
    known = _query_names(route.dependant) if isinstance(route, APIRoute) else set()
    for key in request.query_params:
        if key not in known:
            raise InvalidInput(f"{key or '(empty name)'}: not a parameter of this request"
                               + (f" (parameters: {', '.join(sorted(known))})" if known else ""), field=key,
                               zh=f"不认识的查询参数「{key}」")
        if len(request.query_params.getlist(key)) > 1:
            raise InvalidInput(f"{key}: given more than once", field=key, zh=f"查询参数「{key}」重复给出")


router = APIRouter(prefix="/api", tags=["api"], responses=_errors(401, 422),
                   dependencies=[Depends(strict_query)])

CaseId = Annotated[int, Path(ge=1, le=MAX_CASE_ID, description="案件号")]
POLICY_IDS = list(policies())


def ctx_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def policy_out(p: Policy) -> PolicyOut:
    return PolicyOut(
        id=p.id, name=p.name, authority=p.authority, document=p.document, track=p.track, standing=p.standing,
        city=p.scope.city, stages=list(p.stages),
        window_opens=p.window.opens if p.window else None, window_closes=p.window.closes if p.window else None,
        reference_date=p.reference_date,
        cutoffs=[CutoffOut(name=c.name, label=c.label, date=c.date, due_at=end_of_day(c.date), ends=list(c.ends),
                           source=f"{c.source.file} {c.source.section}") for c in p.cutoffs],
        notices={k: v.working_days for k, v in p.notices.items()},
    )


@router.post("/token", response_model=TokenOut, responses=_errors(401, 422, 429))
async def token(body: TokenRequest, request: Request) -> TokenOut:
    """Exchange a username and password for a bearer token (it expires; ask again then). Failed
    attempts are throttled per account and per address: 429 with Retry-After, then a lockout."""
    ctx = ctx_of(request)
    user = await attempt_async(ctx.db, body.username, body.password, client_address(request), ctx.clock())
    if user is None:
        raise Unauthenticated("wrong username or password")
    return TokenOut(access_token=ctx.signer.token(user), expires_in=int(ctx.signer.token_ttl.total_seconds()),
                    username=user.username, role=user.role.value)


@router.get("/me", response_model=MeOut)
def me(user: ApiUser) -> MeOut:
    """Who the token belongs to, with its role and scope."""
    return MeOut(id=user.id, username=user.username, role=user.role.value, scope=user.scope.to_json())


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(user: ApiUser) -> list[PolicyOut]:
    """The policies this user may see (a city user: its city's)."""
    return [policy_out(p) for p in visible_policies(user)]


@router.get("/policies/{policy_id}", response_model=PolicyOut, responses=_errors(404))
def show_policy(policy_id: Annotated[Text, Path(max_length=64)], user: ApiUser) -> PolicyOut:
    visible = {p.id: p for p in visible_policies(user)}
    if policy_id not in visible:
        raise NotFound(f"policy {policy_id!r} does not exist", policy=policy_id)
    return policy_out(visible[policy_id])


def _filters(policy: str | None, state: str | None, district: str | None, employer: str | None,
             committee: str | None, due_within: int | None, q: str | None) -> CaseFilters:
    if policy is not None and policy not in policies():
        raise InvalidInput(f"policy: unknown policy {policy!r}; known: {', '.join(policies())}", field="policy",
                           zh="没有这项政策")
    if state is not None and state not in ALL_STATES:
        raise InvalidInput(f"state: unknown state {state!r}; states: {', '.join(ALL_STATES)}", field="state",
                           zh="没有这个阶段/状态")
    return CaseFilters(policy=policy or None, state=state or None, district=district or None,
                       employer=employer or None, committee=committee or None, due_within=due_within,
                       q=q or None)


@router.get("/cases", response_model=CasePage)
def cases(
    request: Request,
    user: ApiUser,
    policy: Annotated[Text | None, Query(max_length=64, description="政策 id",
                                         json_schema_extra={"enum": POLICY_IDS})] = None,
    state: Annotated[Text | None, Query(max_length=32, description="状态/阶段",
                                        json_schema_extra={"enum": list(ALL_STATES)})] = None,
    district: Annotated[Text | None, Query(max_length=64, description="区县")] = None,
    employer: Annotated[Text | None, Query(max_length=200, description="单位")] = None,
    committee: Annotated[Text | None, Query(max_length=200, description="评委会")] = None,
    due_within: Annotated[WholeNumber | None, Query(ge=0, le=366, description="N 天内到期（公示期满或截止）")] = None,
    q: Annotated[Text | None, Query(max_length=100, description="姓名或证件号（可为末几位）")] = None,
    page: Annotated[WholeNumber, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[WholeNumber, Query(ge=1, le=200)] = 50,
) -> CasePage:
    """Cases within the user's scope, filtered, newest id last, one page at a time."""
    ctx = ctx_of(request)
    f = _filters(policy, state, district, employer, committee, due_within, q)
    with ctx.db.connect() as conn:
        rows, total = list_cases(conn, user, f, ctx.clock(), limit=per_page, offset=(page - 1) * per_page)
    return CasePage(items=[CaseSummary.of(r) for r in rows], total=total, page=page, per_page=per_page)


# Checked by idempotency.check_key (1–255 visible ASCII characters), so that a bad key's 422 names it.
IdemKey = Annotated[str | None, Header(alias=idempotency.HEADER,
                                       description="重试安全：同一键、同一请求只执行一次，24 小时内重放首次应答 "
                                                   "(Stripe-style; 1–255 visible ASCII characters; the same "
                                                   "key with another body is a 422)")]


@router.post("/cases", response_model=CaseCreated, status_code=201, responses=_errors(403))
def create_case(body: CaseCreate, request: Request, user: ApiUser, key: IdemKey = None) -> Response:
    """Create a case in draft from a filing: an administrator, or a platform for a policy it serves
    (CONTRACT §3, §11)."""
    if user.role not in (Role.admin, Role.platform):
        raise NotPermitted("only an administrator or a platform may create cases", role=user.role.value,
                           zh="只有管理员或申报平台可以新建案件")
    if user.role is Role.platform and body.policy not in user.scope.policies:
        raise NotPermitted(f"policy {body.policy!r} is not one this platform serves "
                           f"({', '.join(user.scope.policies)})", role=user.role.value, policy=body.policy,
                           zh="本申报平台不受理该政策的申报")
    ctx = ctx_of(request)
    try:
        get_policy(body.policy)
    except KeyError:
        raise InvalidInput(f"policy: unknown policy {body.policy!r}", field="policy") from None
    _check_no_nul(body.filing.model_dump(mode="json"), "filing")
    key = idempotency.check_key(key)

    def work(conn: Connection | None) -> idempotency.Answer:
        case_id = ctx.wf.create_case(body.policy, body.filing, ctx.clock(), Actor(user.role, user.username), conn=conn)
        return idempotency.Answer(201, CaseCreated(case=case_id, policy=body.policy, state="draft").model_dump())

    return idempotency.respond(*idempotency.run_once(
        ctx, user, key, lambda: idempotency.fingerprint("POST", "/api/cases", body.model_dump(mode="json")), work))


def _check_no_nul(value: Any, where: str) -> None:
    if isinstance(value, str):
        service.clean_text(value, where, max_len=100_000)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_no_nul(str(k), f"{where}.{k}")
            _check_no_nul(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_no_nul(v, f"{where}[{i}]")


@router.get("/cases/{case_id:int}", response_model=CaseDetail, responses=_errors(404))
def case(case_id: CaseId, request: Request, user: ApiUser) -> CaseDetail:
    """One case: applicant, eligibility, history, notifications, due times, and what you may do."""
    return CaseDetail.of_view(service.case_view(ctx_of(request), user, case_id))


@router.get("/cases/{case_id:int}/actions", response_model=ActionsOut, responses=_errors(404))
def case_actions(case_id: CaseId, request: Request, user: ApiUser) -> ActionsOut:
    """The actions this user may take on the case now."""
    ctx = ctx_of(request)
    c = service.load_visible(ctx, user, case_id)
    now = ctx.clock()
    return ActionsOut(case=c.id, state=c.state, version=c.version,
                      actions=[ActionOut.of(a) for a in service.actions_for(user, c, now)],
                      can_object=service.can_object(c, now))


@router.post("/cases/{case_id:int}/actions", response_model=TransitionOut, responses=_errors(403, 404, 409))
def act(case_id: CaseId, body: ActionRequest, request: Request, user: ApiUser, key: IdemKey = None) -> Response:
    """Take an action on the case, as your own role (a platform: the applicant's actions). Returns the
    transition made."""
    ctx = ctx_of(request)
    key = idempotency.check_key(key)

    def work(conn: Connection | None) -> idempotency.Answer:
        t = service.act(ctx, user, case_id, body.action, body.reason, body.expected_version, conn=conn)
        return idempotency.Answer(200, TransitionOut.of(t).model_dump(mode="json"))

    path = f"/api/cases/{case_id}/actions"
    return idempotency.respond(*idempotency.run_once(
        ctx, user, key, lambda: idempotency.fingerprint("POST", path, body.model_dump(mode="json")), work))


@router.post("/cases/{case_id:int}/objections", response_model=TransitionOut, responses=_errors(403, 404, 409))
def objection(case_id: CaseId, body: ObjectionRequest, request: Request, user: ApiUser) -> TransitionOut:
    """Record an objection raised by the public during the case's notice (acts as Role.public)."""
    return TransitionOut.of(service.record_objection(ctx_of(request), user, case_id, body.reason, body.objector))


@router.post("/cases/bulk-actions", response_model=BulkOut)
@router.post("/bulk", response_model=BulkOut, summary="Bulk Actions (alias of /api/cases/bulk-actions)")
def bulk_actions(body: BulkRequest, request: Request, user: ApiUser, key: IdemKey = None) -> Response:
    """Apply one action to many cases, each separately; each failure is reported by case."""
    ctx = ctx_of(request)
    key = idempotency.check_key(key)

    def work(conn: Connection | None) -> idempotency.Answer:
        outcomes = service.bulk(ctx, user, list(body.case_ids), body.action, body.reason, conn=conn)
        items = [BulkItem(case=o.case_id, ok=True, transition=TransitionOut.of(o.transition)) if o.transition
                 else BulkItem(case=o.case_id, ok=False, error=o.error.code if o.error else None,
                               message=o.error.zh if o.error else None) for o in outcomes]
        ok = sum(1 for o in outcomes if o.ok)
        out = BulkOut(action=body.action, succeeded=ok, failed=len(outcomes) - ok, results=items)
        return idempotency.Answer(200, out.model_dump(mode="json"))

    # One fingerprint for both paths: a retry may use either.
    return idempotency.respond(*idempotency.run_once(
        ctx, user, key, lambda: idempotency.fingerprint("POST", "/api/bulk", body.model_dump(mode="json")), work))


@router.get("/documents/{kind}", responses={**_errors(403, 404), 200: {
    "description": "the document (HTML, PDF, XLSX or CSV)",
    "content": {m.split(";")[0]: {} for m in documents.MEDIA.values()}}}, response_class=Response)
def document(
    kind: Annotated[str, Path(description="notice 公示表, roster 花名册, form 登记表, checklist, mail_in",
                              json_schema_extra={"enum": list(documents.KINDS)})],
    request: Request,
    user: ApiUser,
    policy: Annotated[Text | None, Query(max_length=64, description="政策 id（登记表可省略，按案件）",
                                         json_schema_extra={"enum": POLICY_IDS})] = None,
    format: Annotated[Text | None, Query(max_length=8, description="html, pdf, xlsx or csv where it fits",
                                         json_schema_extra={"enum": ["html", "pdf", "xlsx", "csv"]})] = None,
    case: Annotated[WholeNumber | None, Query(ge=1, le=MAX_CASE_ID, description="案件号（登记表）")] = None,
    stage: Annotated[Text | None, Query(max_length=32, description="公示阶段（政策只有一个时可省略）")] = None,
    at: Annotated[dt.datetime | None, Query(description="as of (default now; with an offset)")] = None,
) -> Response:
    """A printable document of a policy within your scope (CONTRACT §11)."""
    if at is not None and at.tzinfo is None:
        raise InvalidInput("at: needs a UTC offset, e.g. 2025-04-10T10:00:00+08:00", field="at",
                           zh="时间须带时区，如 2025-04-10T10:00:00+08:00")
    built = documents.build(ctx_of(request), user, kind, policy_id=policy, fmt=format, case_id=case, stage=stage,
                            at=at)
    return Response(built.content, media_type=built.media_type, headers={"Content-Disposition": built.disposition})
