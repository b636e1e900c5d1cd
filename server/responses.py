"""JSON responses (always through orjson) and the API's error type."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response


def _encode_extra(value: Any) -> Any:
    # MySQL hands SUM()/AVG() back as Decimal; clients expect plain numbers.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_encode_extra)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def success(**fields: Any) -> JSONResponse:
    """bancho.py's success envelope: "status" first, then the payload."""
    return JSONResponse({"status": "success", **fields})


class ApiError(Exception):
    """Raised anywhere in a request to answer {"status": message}."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"status": self.message}, status_code=self.status_code)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)
