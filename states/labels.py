"""Chinese names for the contract's codes (CONTRACT §3): one vocabulary for everything a person
reads, in messages, documents and the admin UI. Codes stay English everywhere else (URLs, the API,
the database). The names follow the seeds' own wording (单位审核, 单位公示, 中评委办公室资格审核,
评审结果公示, 发文公布 …) so that what zcflow says matches what the notice says.
"""

from __future__ import annotations

import datetime as _dt

from states.calendar import SHANGHAI as _SHANGHAI

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
    "create": "创建",
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
    "amend": "政策调整",
    "reinstate": "恢复申报",
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
    "platform": "申报平台",
}

LEVEL_LABELS: dict[str, str] = {"assistant": "初级（助理级）", "intermediate": "中级", "senior": "高级"}

EDUCATION_LABELS: dict[str, str] = {
    "college": "大学专科",
    "bachelor": "大学本科",
    "second_bachelor": "第二学士学位",
    "master": "硕士研究生",
    "doctorate": "博士研究生",
}

ID_TYPE_LABELS: dict[str, str] = {
    "resident_id": "居民身份证",
    "hmt_permit": "港澳台居民证件",
    "foreign_work_permit": "外国人工作许可证",
    "passport": "护照",
}

STATUS_LABELS: dict[str, str] = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}

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

TRACK_LABELS: dict[str, str] = {"recognition": "职称认定", "assessment": "职称评审"}

# The engine's refusals (CONTRACT §3, §6) as a person reads them; the API keeps the codes.
ERROR_LABELS: dict[str, str] = {
    "illegal_transition": "当前状态不允许此操作",
    "not_permitted": "您的角色无权执行此操作",
    "not_found": "不存在，或不在您的管辖范围内",
    "conflict": "案件已被他人修改，请刷新后重试",
    "invalid_input": "输入有误",
    "duplicate_application": "此人在本政策下已有在办申报",
    "window_closed": "不在办理时限内",
    "barred": "因弄虚作假处于禁报期",
    "ineligible": "不符合申报条件",
    "unknown_year": "工作日历中没有该年份，请先导入该年的节假日安排",
    "method_not_allowed": "不支持的请求方式",
    "unauthenticated": "未登录或登录已过期",
    "http_error": "请求有误",
    "too_many_attempts": "登录请求过多，请稍后再试",
}

# The fields a message names (form fields, query parameters, API body fields).
FIELD_LABELS: dict[str, str] = {
    "reason": "理由",
    "action": "操作",
    "state": "阶段/状态",
    "policy": "政策",
    "district": "区县",
    "employer": "单位",
    "committee": "评审/认定机构",
    "due_within": "到期时间",
    "q": "姓名或证件号",
    "page": "页码",
    "per_page": "每页条数",
    "closing_page": "公示列表页码",
    "sort": "排序",
    "case_ids": "所选案件",
    "case": "案件号",
    "version": "版本",
    "objector": "异议人",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "scope": "管辖范围",
    "at": "时间",
    "format": "格式",
    "kind": "文档类型",
    "stage": "公示阶段",
    "actor": "操作人",
    "since": "开始日期",
    "until": "结束日期",
    "filing": "申报信息",
    "cutoff": "截止时间",
    "cutoffs": "截止时间",
    "date": "日期",
    "document": "文号",
    "text": "政策文件",
}

# Administrative acts in the audit log (storage/audit.py); the codes are the other modules'.
AUDIT_ACTION_LABELS: dict[str, str] = {
    "user_add": "新增用户",
    "user_create": "新增用户",
    "user_update": "修改用户",
    "user_scope": "修改管辖范围",
    "user_role": "修改角色",
    "user_passwd": "重置密码",
    "password_reset": "重置密码",
    "password_change": "修改密码",
    "user_password": "修改密码",
    "user_password_reset": "重置密码",
    "login_unlock": "解除登录锁定",
    "login_throttle": "登录限流",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "login_lockout": "登录锁定",
    "login_failed": "登录失败",
    "policy_import": "导入政策",
    "policy_amend": "修订政策",
    "policy_amendment": "修订政策",
    "calendar_import": "导入日历年份",
    "calendar_replace": "替换日历年份",
    "webhook_add": "新增事件推送",
    "webhook_remove": "删除事件推送",
    "webhook_retry": "重新推送事件",
    "token_issue": "签发令牌",
}

# What a document is called (CONTRACT §11 kinds).
DOCUMENT_LABELS: dict[str, str] = {
    "notice": "公示表",
    "roster": "花名册",
    "form": "登记表",
    "checklist": "纸质材料清单",
    "mail_in": "邮寄材料说明",
}

FORMAT_LABELS: dict[str, str] = {"html": "网页", "pdf": "PDF", "xlsx": "Excel", "csv": "CSV"}

WEEKDAY_LABELS = "一二三四五六日"


def label_of(table: dict[str, str], code: str | None, fallback: str | None = None) -> str:
    """The Chinese label of `code`; `fallback` (or the code itself) when the table has none."""
    if code is None:
        return ""
    return table.get(code, code if fallback is None else fallback)


def weekday_label(day: _dt.date) -> str:
    return f"周{WEEKDAY_LABELS[day.weekday()]}"


def day_label(day: _dt.date | None) -> str:
    """2025-04-30（周三）."""
    return f"{day.isoformat()}（{weekday_label(day)}）" if day is not None else ""


def deadline_label(t: _dt.datetime | None) -> str:
    """A due time in Asia/Shanghai. The end of a day (00:00 of the next) reads as that day's 24时止,
    as notices write cutoffs (CONTRACT §4: a cutoff date D means the end of D):
    2025-04-30（周三）24时止; any other time 2025-04-30（周三）10:00."""
    if t is None:
        return ""
    local = t.astimezone(_SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{day_label(local.date() - _dt.timedelta(days=1))}24时止"
    return f"{day_label(local.date())}{local:%H:%M}"

# Linping's routes (seed 002 附件1 §二 and 附件3 (1)–(3)).
ROUTE_LABELS: dict[str, str] = {"normal": "正常申报", "direct": "直接申报", "skilled": "高技能人员申报",
                                "exceptional": "破格申报"}

# The details of an administrative act the 办理日志 shows (others are for developers: checksums, keys).
AUDIT_DETAIL_LABELS: dict[str, str] = {
    "role": "角色", "scope": "管辖范围", "was": "原为", "version": "版本", "document": "文号", "reason": "理由",
    "amended": "调整案件数", "reinstated": "恢复案件数", "year": "年份", "status": "状态", "source": "依据",
    "replaced": "替换已有年份", "failures": "连续失败次数",
}
CALENDAR_STATUS_LABELS: dict[str, str] = {"official": "正式", "provisional": "暂定"}
