"""Chinese names for the contract's codes (CONTRACT §3): one vocabulary for everything a person
reads, in messages, documents and the admin UI. Codes stay English everywhere else (URLs, the API,
the database). The names follow the seeds' own wording (单位审核, 单位公示, 中评委办公室资格审核,
评审结果公示, 发文公布 …) so that what zcflow says matches what the notice says.
"""

from __future__ import annotations

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
