"""The API's JSON answers (orjson when installed) are the bytes Starlette's JSONResponse would send."""

from __future__ import annotations

import pytest
from fastapi.responses import JSONResponse

from workflow.web import jsonresp

CONTENT = {"case": 7, "action": "employer_return", "from_state": "employer_review",
           "at": "2025-03-25T10:00:00+08:00", "reason": "材料不完整\n第二行 \"引号\"\t", "actor_id": None,
           "ok": True, "ratio": 0.1, "items": [1, {"a": []}], "message": "案件 7 已被他人修改"}


def test_the_same_bytes_as_starlette() -> None:
    assert jsonresp.FastJSONResponse(CONTENT).body == JSONResponse(CONTENT).body


def test_the_same_bytes_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonresp, "orjson", None)
    assert jsonresp.FastJSONResponse(CONTENT).body == JSONResponse(CONTENT).body
