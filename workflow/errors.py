"""Errors the engine refuses with. `code` is the contract's vocabulary (CONTRACT §3, §6).

`message` is the developer's English, naming the field (the CLI prints it); `zh` is what a person
reads in the admin UI and in the API's `message` (issue 15): given by the raiser where it knows
better, otherwise composed from the code and the details (case, state, action, field)."""

from __future__ import annotations

import re
from typing import Any

from states.labels import ACTION_LABELS, ERROR_LABELS, FIELD_LABELS, ROLE_LABELS, STATE_LABELS, label_of


class WorkflowError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, zh: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self._zh = zh

    @property
    def zh(self) -> str:
        """The refusal in Chinese, without codes."""
        if self._zh:
            return self._zh
        text = _FIELD_PREFIX.sub("", self.message)  # "date: 不是有效日期" → "不是有效日期"
        if _CJK.search(text) and not _LATIN_WORD.search(text):
            return text  # the raiser wrote it for a person already
        return compose_zh(self.code, self.details)

    def to_json(self) -> dict[str, Any]:
        """`error` the code, `message` the Chinese text, `detail` the English one, then the details."""
        return {"error": self.code, "message": self.zh, "detail": self.message, **self.details}


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
_FIELD_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\[\]-]*: ")
SYSTEM_ACTIONS = frozenset({"expire", "notice_closed"})  # the scheduler's, never a person's to take


def compose_zh(code: str, details: dict[str, Any]) -> str:
    case = details.get("case")
    subject = f"案件 {case} " if case is not None else ""
    state = label_of(STATE_LABELS, details.get("state"), "当前状态")
    action = label_of(ACTION_LABELS, details.get("action"), "该操作")
    if code == "not_found":
        return f"{subject or '所请求的内容'}不存在，或不在您的管辖范围内"
    if code == "illegal_transition" and details.get("state"):
        allowed = [ACTION_LABELS.get(a, "") for a in details.get("allowed") or [] if a not in SYSTEM_ACTIONS]
        tail = f"；此状态下可执行：{'、'.join(a for a in allowed if a)}" if any(allowed) else ""
        return f"当前状态不允许此操作：{subject}当前为「{state}」，不能执行「{action}」{tail}"
    if code == "not_permitted" and details.get("action"):
        roles = [ROLE_LABELS.get(r, "") for r in details.get("allowed_roles") or []]
        who = "、".join(r for r in roles if r) or "任何角色"
        return f"您的角色无权执行此操作：{subject}当前为「{state}」，「{action}」只能由{who}执行"
    if code == "conflict":
        return f"{subject}已被他人修改，请刷新页面后重试"
    if code == "invalid_input" and details.get("field"):
        field = str(details["field"])
        return f"{FIELD_LABELS.get(field.split('.')[0].split('[')[0], '输入')}有误"
    return f"{subject}{ERROR_LABELS.get(code, '操作失败')}".strip()


class InvalidInput(WorkflowError):
    code = "invalid_input"
    http_status = 422


class NotFound(WorkflowError):
    code = "not_found"
    http_status = 404


class IllegalTransition(WorkflowError):
    code = "illegal_transition"
    http_status = 409


class NotPermitted(WorkflowError):
    code = "not_permitted"
    http_status = 403


class Barred(WorkflowError):
    code = "barred"
    http_status = 409


class WindowClosed(WorkflowError):
    code = "window_closed"
    http_status = 409


class Ineligible(WorkflowError):
    code = "ineligible"
    http_status = 409


class DuplicateApplication(WorkflowError):
    code = "duplicate_application"
    http_status = 409


class Conflict(WorkflowError):
    """Another action changed the case first (compare-and-set on state and version failed)."""

    code = "conflict"
    http_status = 409


class UnknownYear(WorkflowError):
    """The working-day calendar does not know a year the move needs: refused, never guessed."""

    code = "unknown_year"
    http_status = 409


ERROR_CODES = {cls.code: cls for cls in (
    InvalidInput, NotFound, IllegalTransition, NotPermitted, Barred, WindowClosed, Ineligible,
    DuplicateApplication, Conflict, UnknownYear,
)}
