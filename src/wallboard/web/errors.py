"""The API's one error shape and the one place errors become HTTP responses.

Every error body is ``{"code": str, "message": str, "detail": [{"loc": [...], "msg": str,
"type": str}, ...]}``. ``code`` is stable (clients branch on it); ``message`` is for people;
``detail`` lists the fields at fault for validation errors (``loc`` is the path into the
request, as FastAPI's own 422s give it, so a UI maps both onto its fields) and is empty
otherwise.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wallboard.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    WallboardError,
)

log = logging.getLogger(__name__)

Loc = Sequence[str | int]


class VersionMismatch(Conflict):
    """The resource changed since the client read it (If-Match or ``version`` is stale)."""

    code = "version_mismatch"


class PayloadTooLarge(WallboardError):
    code = "payload_too_large"


class NoValueStore(WallboardError):
    """The process serves the API without a value store (no ``WALLBOARD_REDIS_URL``): values,
    history and exports cannot be answered. Unlike ``unavailable`` retrying will not help."""

    code = "no_value_store"


class FieldError(InvalidInput):
    """Invalid input at one place of the request: ``loc`` is its path (``body.statistics.0.ref``)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


STATUS_OF_CODE: dict[str, int] = {
    "invalid_input": 422,
    "unauthenticated": 401,
    "invalid_credentials": 401,
    "forbidden": 403,
    "csrf_failed": 403,
    "limit_reached": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "version_mismatch": 412,
    "payload_too_large": 413,
    "too_many_attempts": 429,
    "internal": 500,
    "unavailable": 503,
    "no_value_store": 503,
}
"""Every code the API answers with, and its HTTP status (documented in docs/api.md)."""

_CODE_OF_STATUS: dict[int, str] = {}
for _code, _status in STATUS_OF_CODE.items():
    _CODE_OF_STATUS.setdefault(_status, _code)  # the first code of a status is its generic one


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str
    message: str
    detail: list[ErrorItem] = []


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ErrorBody,
        "description": " or ".join(
            code.replace("_", " ") for code, of in STATUS_OF_CODE.items() if of == status
        ),
    }
    for status in sorted(set(STATUS_OF_CODE.values()))
    if status != 429  # only the login answers it
}
"""For ``responses=`` of the routers: documents the error shape of every status."""


def error_response(
    code: str, message: str, detail: Sequence[dict[str, Any]] = (), status: int | None = None
) -> JSONResponse:
    body = {"code": code, "message": message, "detail": list(detail)}
    return JSONResponse(body, status_code=status or STATUS_OF_CODE[code])


def _status_of(exc: WallboardError) -> int:
    for cls in type(exc).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code in STATUS_OF_CODE:
            return STATUS_OF_CODE[code]
    return 500


async def _wallboard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WallboardError)
    status = _status_of(exc)
    detail: list[dict[str, Any]] = []
    if isinstance(exc, FieldError):
        detail = [{"loc": list(exc.loc), "msg": exc.message, "type": "value_error"}]
    code = exc.code if exc.code in STATUS_OF_CODE else _CODE_OF_STATUS.get(status, "internal")
    if status == 500:
        log.error("web: %s %s failed: %s", request.method, request.url.path, exc.message)
    response = error_response(code, exc.message, detail, status)
    retry_after = exc.detail.get("retry_after")
    if isinstance(retry_after, int | float):
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="wallboard"'
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "value_error")),
        }
        for error in exc.errors()
    ]
    where = ".".join(str(part) for part in detail[0]["loc"]) if detail else "request"
    message = f"{where}: {detail[0]['msg']}" if detail else "the request is not valid"
    return error_response("invalid_input", message, detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, say): a validation error of
        # the body like any other, so that every malformed request is one 422.
        message = exc.detail if isinstance(exc.detail, str) else "the body cannot be decoded"
        item = {"loc": ["body"], "msg": message, "type": "body_invalid"}
        return error_response("invalid_input", f"body: {message}", [item])
    code = _CODE_OF_STATUS.get(
        exc.status_code, "internal" if exc.status_code >= 500 else "invalid_input"
    )
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = error_response(code, message, (), exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _database_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # The database went away (restart, network): the client may retry; not a bug of ours.
    log.warning(
        "web: %s %s: the metadata database cannot be used: %s",
        request.method,
        request.url.path,
        exc,
    )
    return error_response("unavailable", "the metadata database cannot be reached; try again")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug: logged with its traceback, answered without internals.
    log.exception("web: %s %s failed", request.method, request.url.path)
    return error_response("internal", "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to the one shape; called once by ``create_app``."""
    app.add_exception_handler(WallboardError, _wallboard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unreachable in (OperationalError, InterfaceError, ConnectionError, TimeoutError):
        app.add_exception_handler(unreachable, _database_unreachable)
    app.add_exception_handler(Exception, _unexpected)


__all__ = [
    "ERROR_RESPONSES",
    "STATUS_OF_CODE",
    "Conflict",
    "ErrorBody",
    "FieldError",
    "InvalidInput",
    "NoValueStore",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Unauthenticated",
    "Unavailable",
    "VersionMismatch",
    "install_error_handlers",
]
