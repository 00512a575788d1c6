"""Every reason code an eligibility check can give, with its Chinese message (CONTRACT §5).

Codes are stable identifiers for scripts and the engine; messages are for the applicant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from states.eligibility.result import Hint, Reason
from states.eligibility.years import EDUCATION_ZH, DegreeYears

ID_TYPE_NOT_ACCEPTED = "id_type_not_accepted"
BARRED = "barred"
OUT_OF_SCOPE = "out_of_scope"
EXCLUDED_SPECIALTY = "excluded_specialty"
CIVIL_SERVANT = "civil_servant"
EXCLUDED_EMPLOYER = "excluded_employer"
CERTIFICATE_MISSING = "certificate_missing"
NOT_IN_CATALOGUE = "not_in_catalogue"
CERTIFICATE_AMBIGUOUS = "certificate_ambiguous"
CERTIFICATE_MISMATCH = "certificate_mismatch"
CERTIFICATE_NOT_YET_OBTAINED = "certificate_not_yet_obtained"
LEVEL_NOT_AVAILABLE = "level_not_available"
NO_RELEVANT_EDUCATION = "no_relevant_education"
INSUFFICIENT_YEARS = "insufficient_years"
NO_COMMITTEE = "no_committee"
ROUTE_EVIDENCE = "route_evidence"
INSUFFICIENT_CREDITS = "insufficient_credits"
APPRAISAL = "appraisal"
PHOTO_INVALID = "photo_invalid"
STATEMENT_MISSING = "statement_missing"
STATEMENT_TOO_LONG = "statement_too_long"

CODES: tuple[str, ...] = (
    ID_TYPE_NOT_ACCEPTED, BARRED, OUT_OF_SCOPE, EXCLUDED_SPECIALTY, CIVIL_SERVANT, EXCLUDED_EMPLOYER,
    CERTIFICATE_MISSING, NOT_IN_CATALOGUE, CERTIFICATE_AMBIGUOUS, CERTIFICATE_MISMATCH,
    CERTIFICATE_NOT_YET_OBTAINED, LEVEL_NOT_AVAILABLE, NO_RELEVANT_EDUCATION, INSUFFICIENT_YEARS,
    NO_COMMITTEE, ROUTE_EVIDENCE, INSUFFICIENT_CREDITS, APPRAISAL, PHOTO_INVALID, STATEMENT_MISSING,
    STATEMENT_TOO_LONG,
)

ID_TYPE_ZH: dict[str, str] = {
    "resident_id": "居民身份证",
    "hmt_permit": "港澳台居民居住证或通行证",
    "foreign_work_permit": "外国人工作许可证或海外高层次人才居住证",
    "passport": "护照",
}

LEVEL_ZH: dict[str, str] = {"assistant": "助理级", "intermediate": "中级", "senior": "高级"}

# Seed 002 §一: 不含参照依照公务员制度管理的事业单位、电力交通公路国有及国有控股的企业、浙江省省直
# 国有及国有控股的企业、中央企业驻杭分支企业 (codes as in lp-assessment-2022.yaml scope).
EMPLOYER_KIND_ZH: dict[str, str] = {
    "civil_service_managed_institution": "参照依照公务员制度管理的事业单位",
    "power_transport_highway_soe": "电力、交通、公路国有及国有控股企业",
    "provincial_soe": "浙江省省直国有及国有控股企业",
    "central_soe_branch": "中央企业驻杭分支企业",
}


def zh_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _list(items: Iterable[str]) -> str:
    return "、".join(items)


def id_type_not_accepted(id_type: str, accepted: Sequence[str]) -> Reason:
    return Reason(ID_TYPE_NOT_ACCEPTED,
                  f"本次申报不受理以{ID_TYPE_ZH.get(id_type, id_type)}申报；可使用的证件："
                  f"{_list(ID_TYPE_ZH.get(t, t) for t in accepted)}")


def barred(from_year: int, to_year: int, year: int) -> Reason:
    return Reason(BARRED, f"因申报弄虚作假，{from_year}年至{to_year}年不得申报职称（本次申报属{year}年）")


def district_unknown(district: str, city: str) -> Reason:
    return Reason(OUT_OF_SCOPE, f"“{district}”不是{city}的区、县（市），无法受理")


def district_not_covered(district: str, coverage: str) -> Reason:
    return Reason(OUT_OF_SCOPE, f"所在区、县（市）“{district}”不在本次受理范围（{coverage}）")


def industry_not_covered(specialty: str, industries: Sequence[str]) -> Reason:
    return Reason(OUT_OF_SCOPE,
                  f"从事专业“{specialty}”不在本次受理的专业范围（{_list(industries)}等工程技术专业）")


def excluded_specialty(specialty: str, excluded: str) -> Reason:
    return Reason(EXCLUDED_SPECIALTY,
                  f"从事专业“{specialty}”属于列入国家、省统一考试的专业（{excluded}），一律不予评审通过")


def civil_servant() -> Reason:
    return Reason(CIVIL_SERVANT, "公务员（含参照公务员法管理的工作人员）不得参加专业技术人才职称评审")


def excluded_employer(kind: str) -> Reason:
    return Reason(EXCLUDED_EMPLOYER,
                  f"所在单位属于{EMPLOYER_KIND_ZH.get(kind, kind)}，不在本次评审范围")


def certificate_missing() -> Reason:
    return Reason(CERTIFICATE_MISSING, "未填写国际职业资格证书（目录序号，或证书名称和颁证单位）")


def entry_out_of_range(entry: int, size: int) -> Reason:
    return Reason(NOT_IN_CATALOGUE, f"认可目录共{size}项，没有第{entry}项")


def not_in_catalogue_by_name(name: str, issuer: str | None, hints: Sequence[Hint]) -> Reason:
    typed = f"“{name}”" + (f"（{issuer}）" if issuer else "")
    closest = "；".join(h.describe() for h in hints)
    return Reason(NOT_IN_CATALOGUE, f"{typed}不在本次认可目录中。最接近的目录项：{closest}")


def certificate_ambiguous(name: str, entries: Sequence[int]) -> Reason:
    numbers = "、".join(str(n) for n in entries)
    return Reason(CERTIFICATE_AMBIGUOUS,
                  f"“{name}”对应认可目录中的多项（第{numbers}项），请填写颁证单位或目录序号")


def certificate_mismatch(entry: int, row: Hint, name: str) -> Reason:
    return Reason(CERTIFICATE_MISMATCH,
                  f"认可目录第{entry}项是“{row.name}”（{row.issuer or '未列颁证单位'}），"
                  f"与填写的证书名称“{name}”不符，请核对目录序号")


def certificate_not_yet_obtained(obtained: dt.date, reference: dt.date) -> Reason:
    return Reason(CERTIFICATE_NOT_YET_OBTAINED,
                  f"证书取得时间{zh_date(obtained)}晚于年限计算截止日{zh_date(reference)}")


def level_not_offered(level: str, offered: Iterable[str]) -> Reason:
    return Reason(LEVEL_NOT_AVAILABLE,
                  f"本次不受理{LEVEL_ZH.get(level, level)}职称的认定或评审"
                  f"（可申报：{_list(LEVEL_ZH[x] for x in offered)}）")


def level_above_row(level: str, entry: int, title: str) -> Reason:
    return Reason(LEVEL_NOT_AVAILABLE,
                  f"认可目录第{entry}项对应{title}，不能认定{LEVEL_ZH.get(level, level)}职称")


def no_relevant_education() -> Reason:
    return Reason(NO_RELEVANT_EDUCATION, "没有与从事专业一致或相近的学历（学位），不具备规定学历")


def insufficient_years(degree: DegreeYears, level: str, reference: dt.date) -> Reason:
    done = "毕业或参加工作时间晚于计算截止日" if degree.years < 0 else f"满{degree.years}周年"
    return Reason(INSUFFICIENT_YEARS,
                  f"按{EDUCATION_ZH[degree.level]}学历计算，毕业后从事本专业或相近专业工作{done}"
                  f"（计算至{zh_date(reference)}），{LEVEL_ZH[level]}职称需满{degree.required}周年")


def insufficient_service(what: str, years: int, required: int, reference: dt.date) -> Reason:
    done = "取得时间晚于计算截止日" if years < 0 else f"满{years}周年"
    return Reason(INSUFFICIENT_YEARS, f"{what}{done}（计算至{zh_date(reference)}），需满{required}周年")


def no_committee(district: str, series: str) -> Reason:
    return Reason(NO_COMMITTEE, f"没有负责{district}{series}系列的评审委员会")


def route_evidence(message: str) -> Reason:
    return Reason(ROUTE_EVIDENCE, message)


def insufficient_credits(credits: int | None, minimum: int, since: int) -> Reason:
    got = "未填写" if credits is None else f"仅{credits}学分"
    return Reason(INSUFFICIENT_CREDITS, f"{since}年以来继续教育{got}，需合计取得{minimum}学分")


def appraisal(year: int, grade: str | None, accepted: Sequence[str]) -> Reason:
    got = "未填写" if grade is None else f"为“{grade}”"
    return Reason(APPRAISAL, f"{year}年度专业技术考核{got}，近三年须为{_list(accepted)}")


def photo_invalid(problem: str) -> Reason:
    return Reason(PHOTO_INVALID, f"证件照不符合要求：{problem}")


def statement_missing() -> Reason:
    return Reason(STATEMENT_MISSING, "未填写本人述职")


def statement_too_long(length: int, maximum: int) -> Reason:
    return Reason(STATEMENT_TOO_LONG, f"本人述职共{length}字，限{maximum}字以内")
