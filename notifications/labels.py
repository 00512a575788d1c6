"""Chinese names for the contract's codes, as a citizen reads them in a message or a document.

The codes are CONTRACT §3's; the names follow the seeds' own wording (单位审核, 单位公示, 中评委办公室
资格审核, 评审结果公示, 发文公布 …) so that a message says what the notice says.
"""

from __future__ import annotations

import datetime as dt

from states.calendar import SHANGHAI

STATE_LABELS: dict[str, str] = {
    "draft": "未提交",
    "employer_review": "单位审核",
    "employer_notice": "单位公示",
    "management_review": "主管部门审核",
    "paper_submission": "纸质材料报送",
    "committee_review": "中评委办公室资格审核",
    "qualification_notice": "资格审核公示",
    "fee_payment": "缴纳评审费",
    "assessment": "评审",
    "result_notice": "评审结果公示",
    "mail_in": "纸质材料邮寄",
    "publication": "发文公布",
    "certified": "已取得职称",
    "returned": "退回修改",
    "objection": "公示异议调查",
    "rejected": "审核不通过",
    "not_passed": "评审未通过",
    "withdrawn": "已撤回",
    "expired": "已逾期",
    "revoked": "已撤销",
}

# A recognition round's committee "审议认定" (seeds 000/001 附件1 §四.2); an assessment "评审" (seed 002 §三).
RECOGNITION_ASSESSMENT_LABEL = "审议认定"

ACTION_LABELS: dict[str, str] = {
    "submit": "提交申报",
    "resubmit": "修改后重新提交",
    "withdraw": "撤回申报",
    "pay_fee": "缴纳评审费",
    "employer_approve": "单位审核通过",
    "employer_return": "单位退回修改",
    "employer_reject": "单位审核不通过",
    "department_approve": "主管部门审核通过",
    "department_return": "主管部门退回修改",
    "department_reject": "主管部门审核不通过",
    "committee_approve": "资格审核通过",
    "committee_return": "中评委办公室退回修改",
    "committee_reject": "资格审核不通过",
    "receive_paper": "纸质材料已收到",
    "assess_pass": "评审通过",
    "assess_fail": "评审未通过",
    "receive_mail": "邮寄材料已收到",
    "issue_certificate": "发文公布并颁发证书",
    "object": "公示期内收到异议",
    "dismiss_objection": "异议不成立",
    "uphold_objection": "异议成立",
    "revoke": "撤销",
    "notice_closed": "公示期满无异议",
    "expire": "逾期",
}

ROLE_LABELS: dict[str, str] = {
    "applicant": "申报人",
    "employer": "用人单位",
    "department": "主管部门",
    "committee": "评审委员会办公室",
    "city": "发证机关",
    "application_point": "职称申报点",
    "public": "公众",
    "system": "系统",
    "admin": "管理员",
}

LEVEL_LABELS: dict[str, str] = {"assistant": "初级（助理级）", "intermediate": "中级", "senior": "高级"}

EDUCATION_LABELS: dict[str, str] = {
    "college": "大学专科",
    "bachelor": "大学本科",
    "second_bachelor": "第二学士学位",
    "master": "硕士研究生",
    "doctorate": "博士研究生",
}
EDUCATION_RANK: dict[str, int] = {"college": 1, "bachelor": 2, "second_bachelor": 3, "master": 4, "doctorate": 5}

ID_TYPE_LABELS: dict[str, str] = {
    "resident_id": "居民身份证",
    "hmt_permit": "港澳台居民证件",
    "foreign_work_permit": "外国人工作许可证",
    "passport": "护照",
}

STATUS_LABELS: dict[str, str] = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


def state_label(state: str, track: str = "assessment") -> str:
    """The name of a state; `assessment` reads 审议认定 in a recognition round."""
    if state == "assessment" and track == "recognition":
        return RECOGNITION_ASSESSMENT_LABEL
    return STATE_LABELS.get(state, state)


def cn_date(day: dt.date | dt.datetime) -> str:
    """2025年4月14日 (a time is shown as its Asia/Shanghai date)."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(SHANGHAI).date()
    return f"{day.year}年{day.month}月{day.day}日"


def cn_short_date(day: dt.date | dt.datetime) -> str:
    """4月14日, for the 70-character SMS."""
    if isinstance(day, dt.datetime):
        day = day.astimezone(SHANGHAI).date()
    return f"{day.month}月{day.day}日"


def cn_time(t: dt.datetime) -> str:
    local = t.astimezone(SHANGHAI)
    return f"{cn_date(local)} {local:%H:%M}"
