"""Chinese labels for the contract's vocabulary (CONTRACT §3). Codes stay English everywhere else
(URLs, the API, the database); only what a person reads is translated here."""

from __future__ import annotations

STATE_LABELS: dict[str, str] = {
    "draft": "草稿",
    "employer_review": "单位审核",
    "employer_notice": "单位公示",
    "management_review": "主管部门审核",
    "paper_submission": "纸质材料报送",
    "committee_review": "评委会资格审核",
    "qualification_notice": "资格公示",
    "fee_payment": "缴纳评审费",
    "assessment": "评审",
    "result_notice": "评审结果公示",
    "mail_in": "材料寄送",
    "publication": "发文公布",
    "certified": "已发证",
    "returned": "退回修改",
    "objection": "异议核查中",
    "rejected": "不通过",
    "not_passed": "评审未通过",
    "withdrawn": "已撤回",
    "expired": "已逾期",
    "revoked": "已撤销",
}

ACTION_LABELS: dict[str, str] = {
    "create": "创建",
    "submit": "提交申报",
    "resubmit": "重新提交",
    "withdraw": "撤回",
    "pay_fee": "缴纳评审费",
    "employer_approve": "单位审核通过",
    "employer_return": "单位退回修改",
    "employer_reject": "单位审核不通过",
    "department_approve": "主管部门审核通过",
    "department_return": "主管部门退回修改",
    "department_reject": "主管部门审核不通过",
    "committee_approve": "评委会审核通过",
    "committee_return": "评委会退回修改",
    "committee_reject": "评委会审核不通过",
    "receive_paper": "确认收到纸质材料",
    "assess_pass": "评审通过",
    "assess_fail": "评审未通过",
    "receive_mail": "确认收到寄回材料",
    "issue_certificate": "发放证书",
    "object": "登记异议",
    "dismiss_objection": "异议不成立",
    "uphold_objection": "异议成立",
    "revoke": "撤销",
    "notice_closed": "公示期满",
    "expire": "逾期",
}

ROLE_LABELS: dict[str, str] = {
    "applicant": "申报人",
    "employer": "用人单位",
    "department": "主管部门",
    "committee": "评委会",
    "city": "市人社局",
    "application_point": "申报点",
    "public": "公众",
    "system": "系统",
    "admin": "系统管理员",
}

TEMPLATE_LABELS: dict[str, str] = {
    "submitted": "已提交",
    "returned": "退回修改",
    "rejected": "不通过",
    "notice_opened": "公示开始",
    "notice_closed": "公示结束",
    "objection": "收到异议",
    "deadline_reminder": "截止提醒",
    "expired": "已逾期",
    "fee_due": "缴费通知",
    "mail_in_instructions": "寄送说明",
    "certified": "已发证",
    "revoked": "已撤销",
}

CHANNEL_LABELS: dict[str, str] = {"sms": "短信", "email": "邮件", "inapp": "站内"}

STATUS_LABELS: dict[str, str] = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}

LEVEL_LABELS: dict[str, str] = {"assistant": "助理级", "intermediate": "中级", "senior": "副高级"}

EDUCATION_LABELS: dict[str, str] = {
    "college": "大专", "bachelor": "本科", "second_bachelor": "第二学士", "master": "硕士研究生",
    "doctorate": "博士研究生",
}

TRACK_LABELS: dict[str, str] = {"recognition": "职称认定", "assessment": "职称评审"}

ELIGIBILITY_LABELS: dict[str, str] = {
    "eligible": "是否符合条件",
    "level": "级别",
    "title": "职称",
    "series": "系列",
    "full_years": "满年限（周年）",
    "reference_date": "年限计算截止日",
    "committee": "评审/认定机构",
    "rule": "依据",
}


def label(table: dict[str, str], code: str | None) -> str:
    """The Chinese label of `code`, or the code itself when the table has none."""
    if code is None:
        return ""
    return table.get(code, code)
