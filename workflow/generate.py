"""Synthetic rounds for what-if planning and load: N applicants with a realistic spread of behaviour.

The generator plans each applicant's path with the policy's own calendar and cutoffs: prompt and
late employers, returns and resubmissions, objections, withdrawals, a little fraud, ineligible
filings. It writes the steps an applicant, employer or office would take, marks the ones that the
engine must refuse (`expect_error`), and states each case's final state as an expectation — so a
generated round that simulates with every expectation holding is also a consistency check of the
engine against an independent model of the rules.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from states.calendar import end_of_day, notice_close
from states.idcard import check_digit
from states.policy import Policy, get_policy
from states.vocabulary import STAGE_KINDS, Role
from workflow.clock import SHANGHAI
from workflow.engine import calendar_for

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉力斌宇浩凯鹏"
BEHAVIOURS = (("prompt", 62), ("slow_employer", 6), ("late_employer", 6), ("return", 10), ("objection", 3),
              ("withdraw", 4), ("fraud", 1), ("ineligible", 4), ("never_submits", 4))

DISTRICTS = {
    "hz-recognition-2025h1": ["上城区", "拱墅区", "西湖区", "富阳区", "桐庐县", "淳安县"],
    "yh-recognition-2024": ["余杭区"],
    "lp-assessment-2022": ["临平区"],
    "hz-recognition-2022": ["上城区", "拱墅区", "西湖区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区"],
    "wx-recognition-2022": ["梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "江阴市", "宜兴市"],
}
# Days an office typically takes at each stage (a uniform draw between the two).
DELAYS: dict[str, tuple[float, float]] = {
    "employer_review": (0.5, 8), "management_review": (2, 12), "committee_review": (2, 12),
    "paper_submission": (5, 30), "fee_payment": (1, 7), "assessment": (20, 60), "mail_in": (5, 20),
    "publication": (7, 30),
}
SPECIALTY = {"lp-assessment-2022": "机电制造", "hz-recognition-2025h1": "机电制造"}


def districts_in_scope(policy: Policy) -> list[str]:
    """The districts a round written by an operator covers: its `only` list, or its city's districts
    less the excluded ones (a city zcflow does not list: one made-up district)."""
    from states.eligibility.scope import city_districts

    scope = policy.scope.districts
    if scope is not None and scope.only:
        return list(scope.only)
    known = city_districts(policy) or (f"{policy.scope.city}示范区",)
    return [d for d in known if scope is None or scope.covers(d)] or list(known)


@dataclass
class Plan:
    key: str
    filing: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    final: str = "draft"
    truncated: bool = False  # a planned step fell after the round's end: no final state is promised


def _t(t: dt.datetime) -> str:
    return t.astimezone(SHANGHAI).isoformat()


class Planner:
    def __init__(self, policy: Policy, rng: random.Random) -> None:
        self.p = policy
        self.rng = rng
        self.cal = calendar_for(policy)
        self.start, self.end = self.bounds()
        self.districts = DISTRICTS.get(policy.id) or districts_in_scope(policy)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        w = self.p.window
        assert w is not None
        opens = dt.datetime(w.opens.year, w.opens.month, w.opens.day, 8, tzinfo=SHANGHAI)
        if self.p.cutoffs:
            last = max(c.date for c in self.p.cutoffs)
            end = end_of_day(last) + dt.timedelta(days=240)
        else:
            # A standing scheme: simulate one quarter from a fixed day of its validity.
            opens = max(opens, dt.datetime(2025, 3, 3, 8, tzinfo=SHANGHAI))
            end = opens + dt.timedelta(days=240)
        # Not past the last year the working-day calendar knows.
        last_year = self.cal.known_years()[-1]
        return opens, min(end, dt.datetime(last_year, 12, 1, tzinfo=SHANGHAI))

    def cutoff_instant(self, stage: str) -> dt.datetime | None:
        cutoff = self.p.cutoff_ending(stage)
        return end_of_day(cutoff.date) if cutoff else None

    def filing_close(self) -> dt.datetime:
        w = self.p.window
        assert w is not None
        if w.closes is None:
            return self.start + dt.timedelta(days=30)
        return end_of_day(w.closes)

    def working_time(self, after: dt.datetime, days: float) -> dt.datetime:
        """Office hours `days` calendar days after `after`, moved onto a working day."""
        t = after + dt.timedelta(days=days)
        d = t.date()
        while not self.cal.is_working_day(d):
            d += dt.timedelta(days=1)
        hour = self.rng.randint(9, 16)
        candidate = dt.datetime(d.year, d.month, d.day, hour, self.rng.randint(0, 59), tzinfo=SHANGHAI)
        return candidate if candidate > after else after + dt.timedelta(minutes=30)

    def filing(self, serial: int, behaviour: str) -> dict[str, Any]:
        rng = self.rng
        # Unique by construction for up to 1,009,000 serials: the 3-digit sequence code is serial % 1000
        # and the birth date moves by serial // 1000 (< 1009) plus a multiple of 1009 days.
        born = dt.date(1975, 1, 1) + dt.timedelta(days=serial // 1000 + 1009 * rng.randint(0, 7))
        first17 = f"330102{born:%Y%m%d}{serial % 1000:03d}"
        reference = self.p.reference_date or self.start.date()
        # Graduated early enough for every level the policy offers; ineligible ones graduated last year.
        years_ago = rng.randint(8, 15) if behaviour != "ineligible" else 0
        grad = dt.date(reference.year - years_ago, 7, 1)
        district = rng.choice(self.districts)
        data: dict[str, Any] = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
            "id_type": "resident_id", "id_number": first17 + check_digit(first17),
            "district": district, "employer": f"{district[:2]}示范{serial % 37:02d}号科技有限公司",
            "specialty": SPECIALTY.get(self.p.id, "机电制造"), "civil_servant": False,
            "education": [{"level": "bachelor", "graduated": grad.isoformat(), "relevant": True}],
            "work_start": (grad + dt.timedelta(days=20)).isoformat(),
            "phone": f"138{serial:08d}"[:11],
        }
        rows = [r for r in self.p.catalogue.rows if r.title == "工程师"]
        if rows:
            row = rng.choice(rows)
            data["certificate"] = {"entry": row.no, "obtained": (grad + dt.timedelta(days=400)).isoformat()}
            if self.p.id == "wx-recognition-2022":
                data["specialty"] = row.series
            if self.p.id == "hz-recognition-2022" and row.series != "制造业":
                data["specialty"] = row.series
        if self.p.track == "assessment":
            data.update({"route": "direct", "credits_since_2019": rng.randint(45, 120),
                         "appraisals": {"2019": "称职", "2020": rng.choice(["称职", "优秀"]), "2021": "称职"},
                         "photo": {"format": "jpg", "bytes": rng.randint(40_000, 900_000), "width": 300,
                                   "height": 420},
                         "statement": "本人长期从事机电制造工程技术工作。"})
        return data

    def plan(self, serial: int) -> Plan:
        rng = self.rng
        behaviour = rng.choices([b for b, _ in BEHAVIOURS], weights=[w for _, w in BEHAVIOURS])[0]
        plan = Plan(key=f"a{serial:05d}", filing=self.filing(serial, behaviour))
        close = self.filing_close()
        span = max((close - self.start).total_seconds() - 86400 * 3, 3600)
        t = self.working_time(self.start, rng.uniform(0, span / 86400))
        if behaviour == "never_submits":
            plan.final = "expired" if self.p.cutoff_ending("draft") else "draft"
            return plan
        step = self.step_adder(plan)
        if behaviour == "ineligible":
            step(t, "submit", Role.applicant, expect_error="ineligible")
            plan.final = "expired" if self.p.cutoff_ending("draft") else "draft"
            return plan
        step(t, "submit", Role.applicant)
        state = self.p.stages[1]
        returned_once = objected_once = False
        while state != "certified":
            kind = STAGE_KINDS[state]
            deadline = self.cutoff_instant(state)
            if behaviour == "withdraw" and state == self.p.stages[2]:
                t = self.working_time(t, rng.uniform(0.2, 2))
                if deadline is None or t < deadline:
                    step(t, "withdraw", Role.applicant)
                    plan.final = "withdrawn"
                    return plan
            if kind.is_notice:
                opened = t
                closes = notice_close(opened, self.p.notices[state].working_days, self.cal)
                if behaviour == "objection" and not objected_once:
                    objected_once = True
                    t = opened + dt.timedelta(hours=2)
                    step(t, "object", Role.public, reason="反映其业绩材料存在疑问")
                    office = Role.employer if state == "employer_notice" else Role.committee
                    t = self.working_time(t, rng.uniform(0.5, 2))
                    if deadline is not None and t >= deadline:
                        plan.final = "expired"
                        step(t, "dismiss_objection", office, expect_error="illegal_transition")
                        return plan
                    step(t, "dismiss_objection", office)
                    t = max(t, closes)
                else:
                    t = closes
                if deadline is not None and t > deadline:
                    plan.final = "expired"
                    return plan
                state = self.p.next_stage(state) or "certified"
                continue
            assert kind.advance is not None
            actor = kind.actors[0]
            if state == "publication":
                level = "intermediate"
                actor = Role(self.p.levels[level].issued_by)  # type: ignore[index]
            delay = rng.uniform(*DELAYS.get(state, (0.5, 6)))
            if state == "employer_review" and behaviour == "slow_employer":
                delay = rng.uniform(6, 12)
            if state == "employer_review" and behaviour == "late_employer" and deadline is not None:
                t = max(t, deadline) + dt.timedelta(hours=rng.randint(10, 60))
                step(t, kind.advance, actor, expect_error="illegal_transition")
                plan.final = "expired"
                return plan
            t = self.working_time(t, delay)
            if deadline is not None and t >= deadline:
                step(t, kind.advance, actor, expect_error="illegal_transition")
                plan.final = "expired"
                return plan
            if behaviour == "return" and kind.ret and not returned_once:
                returned_once = True
                step(t, kind.ret, actor, reason="材料不完整，请补充学历认证报告")
                t = self.working_time(t, rng.uniform(0.5, 3))
                if deadline is not None and t >= deadline:
                    step(t, "resubmit", Role.applicant, expect_error="window_closed")
                    plan.final = "expired"
                    return plan
                step(t, "resubmit", Role.applicant)
                t = self.working_time(t, rng.uniform(0.5, 3))
                if deadline is not None and t >= deadline:
                    step(t, kind.advance, actor, expect_error="illegal_transition")
                    plan.final = "expired"
                    return plan
            step(t, kind.advance, actor)
            state = self.p.next_stage(state) or "certified"
        plan.final = "certified"
        if behaviour == "fraud":
            t = self.working_time(t, rng.uniform(5, 30))
            step(t, "revoke", Role.city, reason="核查发现提交虚假申报材料")
            plan.final = "revoked"
        return plan

    def step_adder(self, plan: Plan) -> Any:
        def add(at: dt.datetime, action: str, actor: Role, reason: str | None = None,
                expect_error: str | None = None) -> None:
            if at > self.end:
                plan.truncated = True
                return
            step: dict[str, Any] = {"at": _t(at), "case": plan.key, "action": action, "actor": actor.value}
            if reason:
                step["reason"] = reason
            if expect_error:
                step["expect_error"] = expect_error
            plan.steps.append(step)
        return add


def generate_round(policy_id: str, n: int, seed: int, *, by_applicant: bool = False) -> dict[str, Any]:
    """A scenario dict (CONTRACT §6) with `n` synthetic applicants. Its steps are in time order, or
    with `by_applicant` grouped by applicant (each applicant's steps together, in their own order)."""
    policy = get_policy(policy_id)
    rng = random.Random(seed)
    planner = Planner(policy, rng)
    plans = [planner.plan(i + 1) for i in range(n)]
    steps = ([s for p in plans for s in p.steps] if by_applicant
             else sorted((s for p in plans for s in p.steps), key=lambda s: (s["at"], s["case"])))
    return {
        "name": f"generated round: {policy_id}, {n} applicants, seed {seed}",
        "policy": policy_id,
        "start": _t(planner.start - dt.timedelta(hours=1)),
        "end": _t(planner.end),
        "applicants": [{"key": p.key, **p.filing} for p in plans],
        "steps": steps,
        "expect": [{"case": p.key, "state": p.final} for p in plans if not p.truncated],
    }
