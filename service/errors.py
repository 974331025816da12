"""Domain errors, the one handler that turns them into `{"detail": ...}`, and how
the OpenAPI document declares those answers."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match


class ServiceError(Exception):
    """`code`: a name a client can act on (as the socket's error frames have), for
    answers that differ only by it: then `{"detail":{"code","message"}}`."""

    status_code = 400

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class TooManyRequests(ServiceError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    """The work could not finish in time (a search cut off, no database connection
    free); the same request may succeed after Retry-After seconds."""

    status_code = 503

    def __init__(self, detail: str, retry_after: int = 1, *, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequests | Unavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    detail = exc.detail if exc.code is None else {"code": exc.code, "message": exc.detail}
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Without the offending input: it may be a password or 100 kB of junk.
    detail = [
        {"type": e.get("type"), "loc": [_loc_part(p) for p in loc], "msg": validation_message(e)}
        for e, loc in _optional_fields_once(exc.errors())
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def _optional_fields_once(errors: Sequence[Any]) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Each error with its loc. A field typed `X | None` fails in both members: the
    `none` member's error says nothing the client can use, and the other's loc names
    the member; that one is kept, at the field's loc."""
    optional = {tuple(e["loc"][:-1]) for e in errors if e.get("type") == "none_required" and e["loc"][-1:] == ("none",)}
    for e in errors:
        loc = tuple(e.get("loc", ()))
        field = next((f for f in optional if loc[: len(f)] == f and len(loc) > len(f)), None)
        if field is None:
            yield e, loc
        elif e.get("type") != "none_required":
            yield e, field + loc[len(field) + 1 :]


def _loc_part(part: object) -> object:
    # An unexpected field's name is the client's own text: a long one is not sent back.
    return "..." if isinstance(part, str) and len(part) > 64 else part


# Pydantic's error types in words; the {names} come from the error's context, which
# holds the bounds the schema sets, never the input.
_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "int_type": "must be a JSON integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a JSON integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "json_invalid": "is not valid JSON",
    "string_pattern_mismatch": "contains characters that are not allowed here",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def validation_message(error: Any) -> str:
    """What is wrong, in words: never a pattern, never the input itself."""
    kind, ctx, msg = error.get("type"), error.get("ctx") or {}, str(error.get("msg", ""))
    if kind == "value_error":  # the service's own validators already speak in words
        return msg.removeprefix("Value error, ")
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    try:
        return _WORDS[kind].format(**ctx)
    except KeyError:  # an error raised by hand, without its context, or a type not listed
        return msg


class ErrorOut(BaseModel):
    detail: str


class CodedDetail(BaseModel):
    code: str
    message: str


class CodedErrorOut(BaseModel):
    detail: CodedDetail | str


class ValidationIssue(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(BaseModel):
    detail: list[ValidationIssue]


# What each error status means for this service; every route declares the ones it can answer.
_ERRORS: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("The body could not be parsed", ErrorOut),
    401: ("Missing, invalid, expired or revoked credentials", ErrorOut),
    403: ("Not allowed for this user", ErrorOut),
    404: ("Not found, or not visible to this user", ErrorOut),
    409: ("Conflicts with the current state", ErrorOut),
    413: ("The body is larger than CHAT_MAX_BODY_BYTES", ErrorOut),
    422: ("A parameter or the body is invalid", ValidationErrorOut),
    429: ("Too many attempts; retry after Retry-After seconds", ErrorOut),
    503: ("Could not finish in time; retry after Retry-After seconds", ErrorOut),
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Always `Bearer`", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}

# Groups that several routes share.
BODY_ERRORS = (400, 413, 422)  # any route that reads a body
BEARER_ERRORS = (401,)  # any route behind the bearer token


def error_responses(*statuses: int, coded: Collection[int] = ()) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can answer these error statuses; those
    `coded` may carry a code (ServiceError.code)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        description, model = _ERRORS[status]
        responses[status] = {"description": description, "model": CodedErrorOut if status in coded else model}
        if status in _HEADERS:
            responses[status]["headers"] = _HEADERS[status]
    return responses


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# The web client's files are read-only; its 405 comes with no Allow of its own.
_WEB_CLIENT_METHODS = ("GET", "HEAD")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """Starlette's 405 names the methods of the first route on the path only;
    `Allow` names every method some route on the path answers (GET, PATCH and DELETE on a room)."""
    assert isinstance(exc, HTTPException)
    routes = request.app.router.routes
    allowed = [m for m in _METHODS if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)]
    headers = {**(exc.headers or {}), "Allow": ", ".join(allowed or _WEB_CLIENT_METHODS)}
    return await http_exception_handler(request, HTTPException(405, exc.detail, headers))


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    # Every database connection of the pool stayed busy for its whole timeout.
    return await _service_error(request, Unavailable("the service is busy; retry later"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(405, _method_not_allowed)
