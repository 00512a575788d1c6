"""Eligible filings for each policy, and times inside each policy's filing window."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from states.applicant import ApplicantFiling
from states.idcard import check_digit
from workflow.clock import SHANGHAI


def resident_id(serial: int, region: str = "330102") -> str:
    """A valid GB 11643 number, distinct for every serial (the birth date moves every 1000)."""
    born = dt.date(1985, 1, 1) + dt.timedelta(days=serial // 1000)
    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_digit(first17)


BASE: dict[str, Any] = {
    "name": "王伟", "id_type": "resident_id", "id_number": "330102199001011234",
    "district": "上城区", "employer": "杭州示范机电有限公司", "specialty": "机电制造", "civil_servant": False,
    "education": [{"level": "bachelor", "graduated": "2015-07-01", "relevant": True}],
    "work_start": "2015-07-15",
    "certificate": {"entry": 5, "obtained": "2021-05-10"},
}

LINPING: dict[str, Any] = {
    **BASE, "district": "临平区", "employer": "杭州临平示范电气有限公司",
    "route": "direct", "assistant_title": {"obtained": "2016-12-31"},
    "credits_since_2019": 60, "appraisals": {"2019": "称职", "2020": "优秀", "2021": "称职"},
    "photo": {"format": "jpg", "bytes": 120000, "width": 300, "height": 420},
    "statement": "本人从事机电制造工作七年，主持完成多项技术改进。",
    "certificate": None,
}

FILINGS: dict[str, dict[str, Any]] = {
    "hz-recognition-2025h1": BASE,
    "yh-recognition-2024": {**BASE, "district": "余杭区", "employer": "杭州余杭示范制造有限公司"},
    "lp-assessment-2022": LINPING,
    "hz-recognition-2022": {**BASE, "certificate": {"entry": 36, "obtained": "2020-01-10"}},
    "wx-recognition-2022": {**BASE, "district": "梁溪区", "employer": "无锡示范机械有限公司",
                            "specialty": "机械工程", "certificate": {"entry": 24, "obtained": "2020-01-10"}},
}

# A moment inside each policy's filing window (Asia/Shanghai).
SUBMIT_AT: dict[str, dt.datetime] = {
    "hz-recognition-2025h1": dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI),
    "yh-recognition-2024": dt.datetime(2024, 4, 1, 10, tzinfo=SHANGHAI),
    "lp-assessment-2022": dt.datetime(2022, 8, 5, 10, tzinfo=SHANGHAI),
    "hz-recognition-2022": dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI),
    "wx-recognition-2022": dt.datetime(2025, 3, 20, 10, tzinfo=SHANGHAI),
}


def filing(policy_id: str, serial: int = 1, **changes: Any) -> ApplicantFiling:
    data = copy.deepcopy(FILINGS[policy_id])
    data["id_number"] = resident_id(serial)
    data.update(changes)
    return ApplicantFiling.model_validate(data)
