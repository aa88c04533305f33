"""The service's error answer: one JSON shape, ``{"error": {"code", "message", "details"}}``, for
every 4xx and 5xx, from the middleware, the routes and the exception handlers alike."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorBody(BaseModel):
    """``code``: a stable machine-readable name; ``message``: one line saying what to fix."""

    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorOut(BaseModel):
    """Every error answer of the service."""

    error: ErrorBody


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ``status`` answer in the house error shape."""
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def media_type(request: Request) -> str:
    """The request's media type, lower case without parameters; ``""`` when it sent none."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def unsupported_media_type(media: str, what: str, expected: str) -> JSONResponse:
    """The 415 answer for a body sent without a Content-Type, or with one this route does not read."""
    sent = f"request body has Content-Type {media}" if media else "request has no Content-Type"
    return error_response(
        415,
        "unsupported_media_type",
        f"{sent}; send {what} with the header Content-Type: {expected}.",
    )
