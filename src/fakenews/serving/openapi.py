"""The OpenAPI document, made to say exactly what the server does.

FastAPI derives the schema from the routes; :func:`describe_service` then corrects what it cannot
know: the API key is a security requirement only when the server has one (and never on
``/health`` or ``/login``), every operation can answer 413 (the body limit) and 500, every
operation with a body 400 (unparsable), 415 (wrong or missing Content-Type) and 422 (invalid),
all in the house error shape (``ErrorOut``) instead of FastAPI's ``HTTPValidationError``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fakenews.serving.auth import API_KEY_HEADER, OPEN_PATHS
from fakenews.serving.http import ErrorOut

KEY_SCHEME = "APIKeyHeader"
ERROR_DESCRIPTIONS = {
    "400": "The body could not be parsed (not JSON, not UTF-8, not a form): malformed_json or malformed_form.",
    "401": f"Missing or wrong {API_KEY_HEADER}, or an expired session cookie: unauthorized.",
    "413": "The body is larger than --max-body-bytes: body_too_large.",
    "415": "No Content-Type, or one this operation does not read: unsupported_media_type.",
    "422": "The body is well formed but not valid (empty text, unknown field, over a limit, ...).",
    "500": "A bug: a generic message, the cause only in the server log: internal_error.",
}
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _error_response(status: str) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


def _error_schemas() -> dict[str, Any]:
    """``ErrorOut`` and ``ErrorBody`` as OpenAPI components."""
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "ErrorOut": schema}


def _describe_operation(operation: dict[str, Any], *, keyed: bool) -> None:
    statuses = ["413", "500"]
    if operation.get("requestBody"):
        statuses += ["400", "415", "422"]
    if keyed:
        statuses.append("401")
        operation["security"] = [{KEY_SCHEME: []}]
    else:
        operation.pop("security", None)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        if status not in responses or "HTTPValidationError" in str(responses[status]):
            responses[status] = _error_response(status)
    operation["responses"] = dict(sorted(responses.items()))


def describe_service(schema: dict[str, Any], *, api_key_required: bool) -> dict[str, Any]:
    """``schema`` (FastAPI's) corrected in place to the server's behaviour; returned."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(_error_schemas())
    components.pop("securitySchemes", None)
    if api_key_required:
        components["securitySchemes"] = {
            KEY_SCHEME: {
                "type": "apiKey",
                "in": "header",
                "name": API_KEY_HEADER,
                "description": "The key the server was started with (--api-key).",
            }
        }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                _describe_operation(operation, keyed=api_key_required and path not in OPEN_PATHS)
    return schema


def install_openapi(app: FastAPI, *, api_key_required: bool) -> None:
    """Serve :func:`describe_service`'s schema at the app's ``openapi_url`` (built once, lazily)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_service(schema, api_key_required=api_key_required)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
