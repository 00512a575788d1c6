"""Assessment (评审), Linping 2022 (seed 002): one of four routes, plus continuing education, annual
appraisals and the platform's filing rules for the photo and the self-statement.

The conditions are data (lp-assessment-2022.yaml `assessment`), read here into typed rules.
Route details the seed leaves open, as zcflow reads them:
- normal (附件1 §二.（一）): years of the assistant title, from `assistant_title.appointed` (实际聘任)
  when given, else `obtained`; the relevant degree with the shortest requirement decides.
- direct (附件1 §二.（二）1): years after a relevant degree, as in recognition. Being 单位业务骨干 in
  an enterprise is for the employer to confirm, not checked here.
- skilled (附件1 §二.（二）2): a technician qualification with 3 full years after the later of
  obtaining it and `work_start`, or any one listed honour. Neither education nor an assistant title.
- exceptional (附件1 §二.（三）): an assistant title held 3 years with a relevant degree (规定学历:
  every education level zcflow knows is 大学专科 or above), else 4 years; and 2 distinct listed
  achievements.
Unknown honour or achievement codes are named only where they could have mattered: when no listed
honour (skilled) or too few listed achievements (exceptional) were given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction

from pydantic import ValidationError

from states.applicant import ApplicantFiling, Photo
from states.eligibility import reasons
from states.eligibility.outcome import Outcome, cite, deciding_body, offered
from states.eligibility.result import Reason
from states.eligibility.years import EDUCATION_ZH, best, full_years, measure, relevant, rule_level
from states.policy import EducationLevel, Frozen, Policy, Source


class NormalRoute(Frozen):
    label: str
    assistant_years: Mapping[EducationLevel, int]
    source: Source


class DirectRoute(Frozen):
    label: str
    years_after: Mapping[EducationLevel, int]
    source: Source


class SkilledRoute(Frozen):
    label: str
    technician_years: int
    honours: Mapping[str, str]
    source: Source


class ExceptionalRoute(Frozen):
    label: str
    assistant_years_without_education: int
    assistant_years_with_education: int
    achievements_required: int
    achievements: Mapping[str, str]
    source: Source


class Routes(Frozen):
    normal: NormalRoute
    direct: DirectRoute
    skilled: SkilledRoute
    exceptional: ExceptionalRoute


class Credits(Frozen):
    minimum: int
    since_year: int


class AppraisalRule(Frozen):
    years: tuple[int, ...]
    accepted: tuple[str, ...]


class PhotoRule(Frozen):
    formats: tuple[str, ...]
    min_bytes_exclusive: int
    max_bytes_exclusive: int
    min_width_exclusive: int
    min_height_exclusive: int
    min_ratio: float
    max_ratio: float


class AssessmentRules(Frozen):
    title: str
    series: str
    source: Source
    routes: Routes
    credits: Credits
    appraisal: AppraisalRule
    photo: PhotoRule
    statement_max_chars: int


def rules_of(policy: Policy) -> AssessmentRules:
    try:
        return AssessmentRules.model_validate(policy.assessment)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"])
        raise ValueError(f"{policy.id}: assessment.{where}: {err['msg']}") from exc


# ---- the routes ------------------------------------------------------------------------------

RouteResult = tuple[list[Reason], int | None, str | None]  # reasons, full years, rule


def _assistant_start(filing: ApplicantFiling) -> dt.date | None:
    title = filing.assistant_title
    if title is None:
        return None
    return title.appointed or title.obtained


def _normal(route: NormalRoute, filing: ApplicantFiling, reference: dt.date) -> RouteResult:
    found: list[Reason] = []
    start = _assistant_start(filing)
    if start is None:
        found.append(reasons.route_evidence("正常申报须已取得助理工程师资格，请填写助理工程师资格取得时间"))
    degrees = [(e.level, rule_level(e.level, route.assistant_years)) for e in relevant(filing.education)]
    needs = [(held, route.assistant_years[rule]) for held, rule in degrees if rule is not None]
    if not needs:
        return [*found, reasons.no_relevant_education()], None, None
    held, required = min(needs, key=lambda n: n[1])
    if start is None:
        return found, None, None
    years = full_years(start, reference)
    if years < required:
        what = f"具有{EDUCATION_ZH[held]}学历，聘任助理工程师职务"
        return [reasons.insufficient_service(what, years, required, reference)], max(years, 0), None
    return [], years, f"normal: {held}, assistant+{required} ({cite(route.source)})"


def _direct(route: DirectRoute, filing: ApplicantFiling, reference: dt.date) -> RouteResult:
    decisive = best(measure(filing.education, filing.work_start, reference, route.years_after))
    if decisive is None:
        return [reasons.no_relevant_education()], None, None
    if not decisive.passes:
        return [reasons.insufficient_years(decisive, "intermediate", reference)], max(decisive.years, 0), None
    return [], decisive.years, f"direct: {decisive.condition()} ({cite(route.source)})"


def _unknown(codes: Sequence[str], known: Mapping[str, str], what: str) -> list[Reason]:
    strange = [c for c in codes if c not in known]
    if not strange:
        return []
    listed = "；".join(f"{code}（{label}）" for code, label in known.items())
    return [reasons.route_evidence(f"无法识别的{what}：{'、'.join(strange)}。可填写：{listed}")]


def _skilled(route: SkilledRoute, filing: ApplicantFiling, reference: dt.date) -> RouteResult:
    honour = next((h for h in filing.honours if h in route.honours), None)
    if honour is not None:
        return [], None, f"skilled: honour {honour} ({cite(route.source)})"
    unknown = _unknown(filing.honours, route.honours, "荣誉")
    if filing.technician is None:
        missing = reasons.route_evidence(
            "高技能人才申报须填写技师职业资格（职业技能等级）取得时间，或所获荣誉")
        return [missing, *unknown], None, None
    years = full_years(max(filing.technician.obtained, filing.work_start), reference)
    if years < route.technician_years:
        what = "取得技师职业资格（职业技能等级）后从事技术技能工作"
        short = reasons.insufficient_service(what, years, route.technician_years, reference)
        return [short, *unknown], max(years, 0), None
    return [], years, f"skilled: technician+{route.technician_years} ({cite(route.source)})"


def _exceptional(route: ExceptionalRoute, filing: ApplicantFiling, reference: dt.date) -> RouteResult:
    found: list[Reason] = []
    educated = bool(relevant(filing.education))
    required = route.assistant_years_with_education if educated else route.assistant_years_without_education
    start = _assistant_start(filing)
    years: int | None = None
    if start is None:
        found.append(reasons.route_evidence("破格申报须已任助理工程师，请填写助理工程师资格取得时间"))
    else:
        years = full_years(start, reference)
        if years < required:
            what = "具备规定学历任助理工程师" if educated else "不具备规定学历任助理工程师"
            found.append(reasons.insufficient_service(what, years, required, reference))
    achieved = sorted({a for a in filing.achievements if a in route.achievements})
    if len(achieved) < route.achievements_required:
        found.append(reasons.route_evidence(
            f"破格申报须具备下列条件中的{route.achievements_required}项，已具备{len(achieved)}项："
            + "；".join(route.achievements.values())))
        found += _unknown(filing.achievements, route.achievements, "破格条件")
    shown = max(years, 0) if years is not None else None
    if found:
        return found, shown, None
    basis = "with" if educated else "without"
    return [], shown, (f"exceptional: assistant+{required} {basis} education, {len(achieved)} achievements "
                       f"({cite(route.source)})")


def _route(rules: AssessmentRules, filing: ApplicantFiling, reference: dt.date) -> RouteResult:
    routes = rules.routes
    if filing.route == "normal":
        return _normal(routes.normal, filing, reference)
    if filing.route == "direct":
        return _direct(routes.direct, filing, reference)
    if filing.route == "skilled":
        return _skilled(routes.skilled, filing, reference)
    if filing.route == "exceptional":
        return _exceptional(routes.exceptional, filing, reference)
    choices = "；".join(f"{name}（{getattr(routes, name).label}）" for name in Routes.model_fields)
    return [reasons.route_evidence(f"请选择申报途径：{choices}")], None, None


# ---- the conditions every route shares ----------------------------------------------------------

def check_credits(rule: Credits, filing: ApplicantFiling) -> list[Reason]:
    """002 附件1 §三: 2019年以来合计取得45学分."""
    got = filing.credits_since_2019
    if got is not None and got >= rule.minimum:
        return []
    return [reasons.insufficient_credits(got, rule.minimum, rule.since_year)]


def check_appraisals(rule: AppraisalRule, filing: ApplicantFiling) -> list[Reason]:
    """002 附件1 §四: 近三年专业技术年度考核"称职"以上 (the years of 附件2 §三.3)."""
    given = {k.strip(): v.strip() for k, v in (filing.appraisals or {}).items()}
    found = []
    for year in rule.years:
        grade = given.get(str(year))
        if grade not in rule.accepted:
            found.append(reasons.appraisal(year, grade, rule.accepted))
    return found


def check_photo(rule: PhotoRule, photo: Photo | None) -> list[Reason]:
    """002 附件2 §二.1. No photo: the platform uses the ID card photo (系统默认省内身份证照片)."""
    if photo is None:
        return []
    problems = []
    fmt = photo.format.strip().lower().lstrip(".")
    if fmt not in rule.formats:
        problems.append(f"格式为{photo.format}，须为{'或'.join(f.upper() for f in rule.formats)}")
    if not rule.min_bytes_exclusive < photo.bytes < rule.max_bytes_exclusive:
        problems.append(f"文件大小为{photo.bytes}字节，须大于{rule.min_bytes_exclusive / 1024:g}K且小于"
                        f"{rule.max_bytes_exclusive / 1024 / 1024:g}M")
    if not (photo.width > rule.min_width_exclusive and photo.height > rule.min_height_exclusive):
        problems.append(f"尺寸为{photo.width}×{photo.height}像素，须大于{rule.min_width_exclusive}×"
                        f"{rule.min_height_exclusive}（宽×高）")
    if photo.height > 0:
        ratio = Fraction(photo.width, photo.height)
        if not Fraction(str(rule.min_ratio)) <= ratio <= Fraction(str(rule.max_ratio)):
            problems.append(f"宽高比为{float(ratio):.3f}，须大于等于{rule.min_ratio}且小于等于{rule.max_ratio}")
    return [reasons.photo_invalid(p) for p in problems]


def check_statement(maximum: int, statement: str | None) -> list[Reason]:
    """002 附件2 §二.3: "本人述职"限1000字以内; every character counts, line breaks excepted."""
    if not statement:
        return [reasons.statement_missing()]
    length = len(statement.replace("\r", "").replace("\n", ""))
    return [reasons.statement_too_long(length, maximum)] if length > maximum else []


def assess(policy: Policy, filing: ApplicantFiling, reference: dt.date, district: str | None) -> Outcome:
    """`district` is the canonical district, or None when it is out of scope."""
    rules = rules_of(policy)
    found: list[Reason] = []
    level_rule = policy.levels.get("intermediate")
    if filing.requested_level is not None and filing.requested_level not in policy.levels:
        found.append(reasons.level_not_offered(filing.requested_level, offered(policy)))
    route_reasons, years, rule = _route(rules, filing, reference)
    found += route_reasons
    found += check_credits(rules.credits, filing)
    found += check_appraisals(rules.appraisal, filing)
    found += check_photo(rules.photo, filing.photo)
    found += check_statement(rules.statement_max_chars, filing.statement)
    committee = None
    if level_rule is not None and district is not None:
        committee = deciding_body(policy, "intermediate", district, rules.series)
    return Outcome("intermediate" if level_rule is not None else None, rules.title, rules.series, years,
                   rule, committee, tuple(found))
