"""The API key and the browser's session.

API clients send the key in the ``X-API-Key`` header on every request. A browser signs in once:
``GET /login`` is a form that posts the key (``application/x-www-form-urlencoded``, so it never
appears in a URL or an access log) to ``POST /login``, which answers ``303 See Other`` to ``/``
with a session cookie. The cookie is not the key: it is a token signed with a secret derived from
the key and a random salt drawn when the app is made (:class:`Sessions`), it expires (12 hours by
default), and it is ``HttpOnly``, ``SameSite=Strict`` and, when the request came over HTTPS (or
through a trusted proxy that says so in ``X-Forwarded-Proto``), ``Secure``. Restarting the server
or changing the key ends every session.

The old link ``/?api_key=KEY`` still works on a GET: it is answered with a redirect to the same
page without the key, setting the same cookie; :mod:`fakenews.serving.logs` masks the key in
uvicorn's access log line of that request.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from http.cookies import SimpleCookie
from importlib import resources
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.types import ASGIApp, Receive, Scope, Send

from fakenews.errors import FakeNewsError
from fakenews.serving.http import ErrorOut, error_response, media_type, unsupported_media_type

API_KEY_HEADER = "X-API-Key"
API_KEY_QUERY = "api_key"
"""The query parameter of the old browser link ``/?api_key=KEY`` (GET only)."""
API_KEY_FIELD = "api_key"
"""The form field ``POST /login`` reads."""
SESSION_COOKIE = "fakenews_session"
LOGIN_PATH = "/login"
OPEN_PATHS = frozenset({"/health", LOGIN_PATH})
"""Paths that never need the key (``/login`` checks it itself)."""
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
DEFAULT_SESSION_HOURS = 12.0

UNAUTHORIZED_MESSAGE = (
    f"missing or wrong API key; send it in the {API_KEY_HEADER} header "
    f"(in a browser, sign in at {LOGIN_PATH})."
)
SESSION_MESSAGE = (
    f"the session cookie has expired or is not valid; sign in again at {LOGIN_PATH} "
    f"(API clients: send the {API_KEY_HEADER} header)."
)
WRONG_KEY_MESSAGE = f"wrong API key; check it and sign in again at {LOGIN_PATH}."
MISSING_FIELD_MESSAGE = f"{API_KEY_FIELD}: Field required; send the form field {API_KEY_FIELD}=KEY."
MALFORMED_FORM_MESSAGE = (
    f"request body is not a URL-encoded UTF-8 form; send {API_KEY_FIELD}=KEY "
    f"with the header Content-Type: {FORM_MEDIA_TYPE}."
)
MAX_FORM_FIELDS = 16


class Sessions:
    """Signed, expiring session tokens for the browser's cookie.

    The signing secret is HMAC-SHA256 of the API key under a salt: by default 32 random bytes
    drawn here, so a new process (or a new key) does not accept an old cookie. Several processes
    serving one app (uvicorn workers) must be given the same ``salt``.

    Args:
        api_key: the server's key.
        hours: how long a session lasts, a positive number (default 12).
        salt: the salt (default ``secrets.token_bytes(32)``).
    """

    def __init__(
        self, api_key: str, *, hours: float = DEFAULT_SESSION_HOURS, salt: bytes | None = None
    ) -> None:
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not hours > 0:
            raise FakeNewsError(f"--session-hours must be a positive number; found {hours!r}.")
        if not math.isfinite(hours):
            raise FakeNewsError(f"--session-hours must be a finite number; found {hours!r}.")
        self.max_age = max(1, round(hours * 3600))
        self._key = api_key.encode()
        secret = hmac.new(salt or secrets.token_bytes(32), self._key, hashlib.sha256)
        self._serializer = URLSafeTimedSerializer(secret.digest(), salt="fakenews-session")

    def matches(self, given: str) -> bool:
        """Whether ``given`` is the server's key (compared in constant time)."""
        return secrets.compare_digest(given.encode(), self._key)

    def issue(self) -> str:
        """A new session token (a random id, timestamped and signed)."""
        return self._serializer.dumps(secrets.token_urlsafe(16))

    def valid(self, token: str) -> bool:
        """Whether ``token`` was issued by this app and is younger than ``max_age`` seconds."""
        try:
            self._serializer.loads(token, max_age=self.max_age)
        except BadData:  # a bad signature, an expired or future timestamp, a garbled payload
            return False
        return True


def _cookie_header(scope: Scope, value: str, max_age: int) -> str:
    """``Set-Cookie`` for the session: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[SESSION_COOKIE] = value
    morsel = cookie[SESSION_COOKIE]
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["path"] = (scope.get("root_path") or "").rstrip("/") + "/"
    morsel["max-age"] = max_age
    # uvicorn sets the scheme from X-Forwarded-Proto when the peer is in --forwarded-allow-ips.
    morsel["secure"] = scope.get("scheme") == "https"
    return morsel.OutputString()


def unauthorized(message: str = UNAUTHORIZED_MESSAGE, *, clear_cookie: bool = False) -> Response:
    """The 401 answer; ``clear_cookie`` also tells the browser to drop a bad session cookie."""
    response = error_response(
        401, "unauthorized", message, headers={"WWW-Authenticate": API_KEY_HEADER}
    )
    if clear_cookie:
        response.headers.append(
            "set-cookie", f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"
        )
    return response


def signed_in(scope: Scope, sessions: Sessions, location: str) -> Response:
    """``303 See Other`` to ``location`` with a new session cookie."""
    response = Response(status_code=303, headers={"Location": location})
    response.headers.append("set-cookie", _cookie_header(scope, sessions.issue(), sessions.max_age))
    return response


def _without_key(request: Request) -> str:
    """A relative URL of this page without the ``api_key`` query parameter."""
    name = request.scope["path"].rsplit("/", 1)[-1]
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != API_KEY_QUERY]
    return "./" + name + ("?" + urlencode(kept) if kept else "")


class ApiKeyMiddleware:
    """401 for every path but ``/health`` and ``/login`` unless the request carries the key.

    The header ``X-API-Key`` is checked first, then (GET only) an ``api_key`` query parameter,
    which is traded for a session cookie by a redirect, then the session cookie. Checked before
    anything else runs, so a request without the key learns nothing but 401.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Request(scope))
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await refusal(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        """None to let the request in; else the answer that stops it."""
        header = request.headers.get(API_KEY_HEADER)
        if header is not None:
            return None if self.sessions.matches(header) else unauthorized()
        if request.method == "GET" and API_KEY_QUERY in request.query_params:
            if not self.sessions.matches(request.query_params[API_KEY_QUERY]):
                return unauthorized()
            return signed_in(request.scope, self.sessions, _without_key(request))
        token = request.cookies.get(SESSION_COOKIE)
        if token is not None:
            return (
                None
                if self.sessions.valid(token)
                else unauthorized(SESSION_MESSAGE, clear_cookie=True)
            )
        return unauthorized()


async def _form_key(request: Request) -> str | Response:
    """The ``api_key`` field of a URL-encoded form body, or the 4xx answer saying what is wrong."""
    media = media_type(request)
    if media != FORM_MEDIA_TYPE:
        return unsupported_media_type(media, "a form", FORM_MEDIA_TYPE)
    body = await request.body()
    try:
        fields = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        return error_response(400, "malformed_form", MALFORMED_FORM_MESSAGE)
    values = fields.get(API_KEY_FIELD)
    if not values:
        details = [{"loc": [API_KEY_FIELD], "type": "missing", "msg": "Field required"}]
        return error_response(422, "invalid_form", MISSING_FIELD_MESSAGE, details)
    return values[0]


LOGIN_BODY = {
    "required": True,
    "content": {
        FORM_MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "properties": {API_KEY_FIELD: {"type": "string", "description": "The API key."}},
                "required": [API_KEY_FIELD],
            }
        }
    },
}
LOGIN_RESPONSES: dict[int | str, dict[str, object]] = {
    303: {
        "description": "Signed in: a session cookie is set and the browser is sent to the page.",
        "headers": {
            "Location": {"schema": {"type": "string"}, "description": "The page, ./"},
            "Set-Cookie": {"schema": {"type": "string"}, "description": "The session cookie."},
        },
    },
    401: {"description": "Wrong API key (code unauthorized).", "model": ErrorOut},
}


def add_login_routes(app: FastAPI, sessions: Sessions) -> None:
    """``GET /login`` (the form) and ``POST /login`` (the key in, a session cookie out)."""
    page = resources.files("fakenews.serving").joinpath("static/login.html").read_text("utf-8")

    @app.get(LOGIN_PATH, response_class=HTMLResponse, summary="The sign-in form (a web page)")
    def login_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.post(
        LOGIN_PATH,
        status_code=303,
        response_class=Response,
        summary="Sign a browser in: the API key for a session cookie",
        openapi_extra={"requestBody": LOGIN_BODY},
        responses=LOGIN_RESPONSES,
    )
    async def login(request: Request) -> Response:
        given = await _form_key(request)
        if isinstance(given, Response):
            return given
        if not sessions.matches(given):
            return unauthorized(WRONG_KEY_MESSAGE)
        return signed_in(request.scope, sessions, "./")
