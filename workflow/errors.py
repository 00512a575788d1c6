"""Errors the engine refuses with. `code` is the contract's vocabulary (CONTRACT §3, §6)."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


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
