"""The API's JSON answers, encoded by orjson when it is installed (issue 18), else by the standard
library exactly as Starlette's JSONResponse does: compact, UTF-8, no NaN. Both give the same bytes
for what the API sends (strings, numbers, booleans, None, lists and objects with string keys)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps the API working
    orjson = None  # type: ignore[assignment]


def dumps(content: Any) -> bytes:
    if orjson is not None:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
