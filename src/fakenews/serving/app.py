"""The HTTP service: ``create_app(run_dir)`` loads the model once and answers

- ``POST /predict``: one article ``{"title": "...", "text": "..."}`` -> one prediction, or a
  batch ``{"articles": [{...}, ...]}`` -> ``{"predictions": [...]}``, in request order; the
  articles of concurrent requests share forward passes (:mod:`fakenews.serving.batching`);
- ``GET /health``: liveness, never needs the API key;
- ``GET /metrics``: Prometheus metrics (:mod:`fakenews.serving.metrics`);
- ``GET /model``: what is served and its measured figures (``model_card.json``,
  ``metrics/test.json``, ``efficiency.json``, ``onnx/export.json`` when they exist);
- ``GET /``: one static page to paste an article into;
- ``GET /openapi.json``: the OpenAPI schema (:mod:`fakenews.serving.openapi` makes it say what
  the server does); ``/docs`` and ``/redoc`` only with ``docs=True`` (they load Swagger UI and
  ReDoc from a public CDN).

Every error is JSON ``{"error": {"code": ..., "message": ..., "details": [...]}}`` with a 4xx
status (400 malformed JSON, 401 API key, 404/405 route, 413 body too large, 415 missing or
non-JSON Content-Type, 422 invalid article); an unexpected failure is a 500 with a generic
message and the traceback only in the server log. With an API key, every endpoint but
``/health`` and ``/login`` needs it: API clients send the header ``X-API-Key``; a browser signs
in at ``/login`` and then carries a signed, expiring session cookie
(:mod:`fakenews.serving.auth`). No document the service answers holds a host path.
"""

import logging
import re
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fakenews.errors import FakeNewsError
from fakenews.io import read_json_if_readable
from fakenews.metrics import DEFAULT_THRESHOLD
from fakenews.predict import to_predictions
from fakenews.predictors.base import InferenceOptions, Predictor
from fakenews.predictors.load import load_predictor
from fakenews.rundir import RunDir, variant_suffix
from fakenews.serving.auth import (
    API_KEY_HEADER,
    DEFAULT_SESSION_HOURS,
    ApiKeyMiddleware,
    Sessions,
    add_login_routes,
)
from fakenews.serving.batching import BatchSettings, MicroBatcher
from fakenews.serving.explain_route import add_explain_route
from fakenews.serving.http import (
    ErrorBody,
    ErrorOut,
    error_response,
    is_json,
    media_type,
    unsupported_media_type,
)
from fakenews.serving.metrics import MetricsMiddleware, ServeMetrics
from fakenews.serving.openapi import install_openapi
from fakenews.splits import combine

logger = logging.getLogger(__name__)

__all__ = [
    "API_KEY_HEADER",
    "BatchOut",
    "ErrorBody",
    "ErrorOut",
    "PredictionOut",
    "ServeLimits",
    "create_app",
    "error_response",
    "model_document",
]


@dataclass(frozen=True)
class ServeLimits:
    """Request limits; anything beyond them gets a 4xx answer, never a 500.

    Args:
        max_body_bytes: largest request body in bytes (default 2,000,000); larger -> 413.
        max_articles: most articles in one batch request (default 64); more -> 422.
        max_chars: most characters in one article's ``text`` or ``title`` (default 100,000,
            about 15k words; WELFake's longest article has about 142k); more -> 422.
    """

    max_body_bytes: int = 2_000_000
    max_articles: int = 64
    max_chars: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_articles", "max_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise FakeNewsError(f"{flag} must be a positive integer; found {value!r}.")


# --------------------------------------------------------------------------- request/response models


def _request_models(limits: ServeLimits) -> tuple[type[BaseModel], type[BaseModel], Any]:
    """Pydantic models carrying this app's limits (so the OpenAPI docs show them too)."""
    text_field = Annotated[str, Field(max_length=limits.max_chars)]

    class Article(BaseModel):
        """One article. ``text`` must hold visible characters; ``title`` is optional."""

        model_config = ConfigDict(extra="forbid", strict=True)
        title: text_field = Field(
            default="", description="Headline (optional); prepended to the text as in training."
        )
        text: text_field = Field(
            description="Body of the article: at least one character that is not whitespace.",
            # Documented only: the validator below enforces it with a message that says why.
            json_schema_extra={"minLength": 1, "pattern": r"\S"},
        )

        @field_validator("text")
        @classmethod
        def _not_blank(cls, value: str) -> str:
            if not value.strip():
                raise ValueError("text is empty or only whitespace; send the article's text")
            return value

    class Batch(BaseModel):
        """Several articles, answered in the same order."""

        model_config = ConfigDict(extra="forbid", strict=True)
        articles: list[Article] = Field(min_length=1, max_length=limits.max_articles)

    def _shape(value: Any) -> str:
        return "batch" if isinstance(value, dict) and "articles" in value else "article"

    body = Annotated[
        Annotated[Article, Tag("article")] | Annotated[Batch, Tag("batch")],
        Discriminator(_shape),
    ]
    return Article, Batch, body


class PredictionOut(BaseModel):
    """One verdict: ``label`` 1 = fake, 0 = real; ``prob_fake`` = calibrated P(fake) in [0, 1];
    ``threshold`` = the run's decision threshold (fake when ``prob_fake >= threshold``)."""

    label: int
    label_name: str
    prob_fake: float
    threshold: float


class BatchOut(BaseModel):
    predictions: list[PredictionOut]


# --------------------------------------------------------------------------- helpers


def too_large_message(max_bytes: int) -> str:
    """The 413 message, from the middleware and from FastAPI's own 413 alike."""
    return f"request body is larger than the limit of {max_bytes:,} bytes; send fewer or shorter articles."


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTPExceptions on to our 413 handler."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


DRAIN_MIN_BYTES = 16_000_000
"""An oversized body is read and dropped up to 4x the limit, at least this much, before the 413."""


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: by ``Content-Length`` up front, else while it streams in.

    The rest of the body is read and dropped (up to ``max(4 * max_bytes, 16 MB)``) before the
    answer, which then closes the connection.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(4 * max_bytes, DRAIN_MIN_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read and drop the rest of the body (up to a bound), answer 413, close the connection.

        A client that writes its whole body before reading (Python's urllib) would otherwise
        see "connection reset": closing a socket with unread data makes the kernel send RST.
        """
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if not (declared.isdigit() and int(declared) > self.drain_bytes):
            await _discard_body(receive, self.drain_bytes)
        response = error_response(
            413,
            "body_too_large",
            too_large_message(self.max_bytes),
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


async def _discard_body(receive: Receive, bound: int) -> None:
    """Receive the request body until it ends, the client leaves, or ``bound`` bytes were read."""
    seen = 0
    while seen <= bound:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _field_errors(exc: RequestValidationError) -> tuple[int, str, str, list[dict[str, Any]]]:
    """Status, code, one-line message and cleaned details for a validation failure."""
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "article", "batch")]
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        details.append({"loc": loc, "type": str(err.get("type", "")), "msg": msg})
    if any(d["type"] == "json_invalid" for d in details):
        return (
            400,
            "malformed_json",
            'request body is not valid JSON; send a JSON object such as {"text": "..."}.',
            details,
        )
    if not details:
        return 422, "invalid_request", "invalid request.", details
    first = details[0]
    where = ".".join(first["loc"]) or "body"
    message = f"{where}: {first['msg']}"
    if first["type"] == "missing" and not first["loc"]:
        message = (
            'request body is missing; send {"text": "..."} or {"articles": [{"text": "..."}]}.'
        )
    elif first["type"] in ("model_attributes_type", "model_type", "dict_type"):
        if first["loc"]:
            message = f'{where}: each article must be a JSON object such as {{"title": "...", "text": "..."}}.'
        else:
            message = 'request body must be a JSON object: {"text": "..."} or {"articles": [{"text": "..."}]}.'
    return 422, "invalid_article", message, details


def _read_json(path: Path) -> dict[str, Any] | None:
    value = read_json_if_readable(path)
    if value is None and path.is_file():
        logger.warning("could not read %s; /model leaves it out", path)
    return value


def _served_accuracy(
    served: Any,
    export: Any,
    *,
    backend: str,
    long: str,
    fingerprint: str,
    precision: str = "fp32",
) -> dict[str, Any] | None:
    """Test accuracy measured on the model exactly as served (backend, precision, long mode), or None.

    ``served`` is ``metrics/test<variant>.json`` written by ``fakenews evaluate`` with the same
    ``--backend``, ``--precision`` and ``--long`` (``test.json``, ``test+onnx.json``,
    ``test+bf16.json``, ``test+chunks.json``, ...);
    for an ONNX export served with truncation, ``onnx/export.json`` measured it too.
    """
    same_setup = (
        isinstance(served, dict)
        and served.get("backend", "torch") == backend
        and served.get("long", "truncate") == long
        and served.get("precision", "fp32") == precision
    )
    if same_setup and isinstance(served.get("accuracy"), int | float):
        return {
            "accuracy": served["accuracy"],
            "n": served.get("n"),
            "source": f"metrics/test{_variant(backend, long, precision)}.json",
        }
    exported = (
        isinstance(export, dict)
        and long == "truncate"
        and precision == "fp32"
        and export.get("split") == "test"
        and export.get("data_fingerprint") == fingerprint  # the run's own test split
    )
    if exported and isinstance(export.get("accuracy_onnx"), int | float):
        return {
            "accuracy": export["accuracy_onnx"],
            "n": export.get("n"),
            "source": "onnx/export.json",
        }
    return None


def _variant(backend: str, long: str, precision: str = "fp32") -> str:
    return variant_suffix(long=long, backend=backend, precision=precision)


_HOST_PATH = re.compile(r"(?<![\w:/.~\\-])(?:~?/|[A-Za-z]:[\\/])[^\s\"'<>|`]+")
"""An absolute (or home-relative) path in a string: ``/home/me/runs/x``, ``~/x``, ``C:\\x``; not a
relative path (``metrics/test.json``), a URL (``https://...``) or a unit (``articles/s``)."""


def _last_part(match: re.Match[str]) -> str:
    path = match.group(0)
    core = path.rstrip(".,;:)]}")  # punctuation after a path is kept
    return re.split(r"[\\/]", core.rstrip("/\\"))[-1] + path[len(core) :]


def without_host_paths(value: Any) -> Any:
    """``value`` (JSON-like) with every absolute path in a string cut to its last part, so an
    answer of the service does not show where the run, its data or the user's home lie."""
    if isinstance(value, str):
        return _HOST_PATH.sub(_last_part, value)
    if isinstance(value, dict):
        return {without_host_paths(k): without_host_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_host_paths(v) for v in value]
    return value


def _static_page() -> str:
    return (
        resources.files("fakenews.serving")
        .joinpath("static/index.html")
        .read_text(encoding="utf-8")
    )


# --------------------------------------------------------------------------- the app pieces

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HTTP_ERROR_CODES = {
    400: "malformed_json",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}
TEST_FIGURES = (
    "n",
    "accuracy",
    "f1_weighted",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "roc_auc",
    "fpr",
    "fnr",
)
"""The keys of ``metrics/test.json`` that ``GET /model`` shows under ``test``."""

_KEY_HEADER = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed when the server was started with --api-key.",
)


def _declare_key(given: Annotated[str | None, Depends(_KEY_HEADER)]) -> None:
    """Declares the key in the OpenAPI docs; :class:`ApiKeyMiddleware` enforces it."""


def _allowed_methods(request: Request) -> list[str]:
    """The methods of every route on this request's path (``GET /login`` and ``POST /login``
    are two routes; Starlette's ``Allow`` names only the first)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if (
            isinstance(route, Route)
            and route.methods
            and route.matches(request.scope)[0] != Match.NONE
        ):
            methods |= route.methods
    return sorted(methods)


def _add_error_handlers(app: FastAPI, limits: ServeLimits) -> None:
    """Every error as ``{"error": {"code", "message", "details"}}``; a 500 keeps its cause in the log."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        media = media_type(request)
        if request.method in BODY_METHODS and not is_json(media):  # FastAPI never parsed it
            return unsupported_media_type(media, "JSON", "application/json")
        status, code, message, details = _field_errors(exc)
        return error_response(status, code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {
            400: 'request body could not be parsed; send UTF-8 JSON such as {"text": "..."}.',
            404: f"no such endpoint {request.url.path}; see /openapi.json.",
            405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json.",
            413: too_large_message(limits.max_body_bytes),
        }
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(
            exc.status_code,
            HTTP_ERROR_CODES.get(exc.status_code, "http_error"),
            message.get(exc.status_code, str(exc.detail)),
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", "the server failed to answer; the cause is in its log."
        )


def _add_middleware(app: FastAPI, limits: ServeLimits, sessions: Sessions | None) -> None:
    """The body limit, then (added last, so it runs first) the API key: no body is read for a
    request without the key."""
    # Our own limiter, not FastAPI's max_body_size: that one answers plain text (not our JSON
    # error shape) when Content-Length already exceeds the limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_body_bytes)
    if sessions is not None:
        app.add_middleware(ApiKeyMiddleware, sessions=sessions)


class _Scorer:
    """The served predictor, one forward pass at a time (the model already uses every core).

    The :class:`~fakenews.serving.batching.MicroBatcher` calls it, in a worker thread, with the
    articles of every request it merged.
    """

    def __init__(
        self, predictor: Predictor, names: tuple[str, str], threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.predictor = predictor
        self.names = names
        self.threshold = threshold
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> list[PredictionOut]:
        with self.lock:
            probs = self.predictor.predict_proba(texts)
        return [
            PredictionOut(
                label=p.pred,
                label_name=p.label_name,
                prob_fake=p.prob_fake,
                threshold=self.threshold,
            )
            for p in to_predictions(probs, self.names, self.threshold)
        ]


def _add_predict_route(
    app: FastAPI, batcher: MicroBatcher[PredictionOut], limits: ServeLimits
) -> None:
    """``POST /predict``: one article -> one prediction, a batch -> predictions in request order.

    Concurrent requests share forward passes through ``batcher``; each gets its own answers.
    """
    _, Batch, Body = _request_models(limits)

    @app.post(
        "/predict",
        response_model=PredictionOut | BatchOut,
        dependencies=[Depends(_declare_key)],
        summary="Score one article or a batch",
    )
    async def predict(body: Body) -> PredictionOut | BatchOut:  # type: ignore[valid-type]
        if isinstance(body, Batch):
            texts = [combine(a.title, a.text) for a in body.articles]  # type: ignore[attr-defined]
            return BatchOut(predictions=await batcher.score(texts))
        return (await batcher.score([combine(body.title, body.text)]))[0]  # type: ignore[attr-defined]


def _add_metrics_route(app: FastAPI, metrics: ServeMetrics) -> None:
    """``GET /metrics``: Prometheus text (behind the API key like everything but ``/health``)."""

    @app.get(
        "/metrics",
        dependencies=[Depends(_declare_key)],
        summary="Prometheus metrics",
        response_class=Response,
    )
    def prometheus_metrics() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)


def model_document(
    run: RunDir, options: InferenceOptions, limits: ServeLimits, *, api_key_required: bool
) -> dict[str, Any]:
    """What ``GET /model`` answers: what is served and the figures measured on it, read from the
    run dir on each request (so a later ``fakenews evaluate`` or ``benchmark`` shows at once)."""
    backend, long, precision = options.backend, options.long, options.precision
    test = _read_json(run.metrics("test"))
    export = _read_json(run.onnx / "export.json") if backend == "onnx" else None
    names = run.label_names
    document = {
        "name": run.config.model.name,
        "kind": run.kind,
        "backend": backend,
        "precision": precision,
        "long": long,
        "run_dir": run.path.name,
        "labels": {"0": names[0], "1": names[1]},
        # the operating point every answer uses (calibration.json, decision.json; else 1 and 0.5)
        "temperature": run.temperature,
        "threshold": run.threshold,
        "decision_policy": run.decision.policy if run.decision is not None else None,
        "data_fingerprint": run.data_fingerprint,
        "test": {k: test.get(k) for k in TEST_FIGURES} if isinstance(test, dict) else None,
        "served_accuracy": _served_accuracy(
            _read_json(run.metrics("test" + _variant(backend, long, precision))),
            export,
            backend=backend,
            long=long,
            fingerprint=run.data_fingerprint,
            precision=precision,
        ),
        "efficiency": _read_json(run.efficiency),
        "export": export,
        "model_card": _read_json(run.model_card_json),
        "limits": asdict(limits),
        "api_key_required": api_key_required,
    }
    return without_host_paths(document)  # type: ignore[no-any-return]


def _add_info_routes(
    app: FastAPI,
    run: RunDir,
    options: InferenceOptions,
    limits: ServeLimits,
    *,
    api_key_required: bool,
) -> None:
    """``GET /health`` (no key needed), ``GET /model`` and the web page at ``/``."""
    model_name = without_host_paths(run.config.model.name)
    page = _static_page()

    @app.get("/health", summary="Liveness (no API key needed)")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model": model_name, "backend": options.backend}

    @app.get(
        "/model",
        dependencies=[Depends(_declare_key)],
        summary="What is served and its measured figures",
    )
    def model_info() -> dict[str, Any]:
        return model_document(run, options, limits, api_key_required=api_key_required)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)


# --------------------------------------------------------------------------- the app


def _sessions(api_key: str | None, hours: float, salt: bytes | None) -> Sessions | None:
    """The browser sessions of a server with a key; a one-line error for an empty key."""
    if api_key is None:
        return None
    if not api_key.strip():
        raise FakeNewsError(
            "--api-key is empty; pass a non-empty key or leave it out to serve without one."
        )
    return Sessions(api_key, hours=hours, salt=salt)


def _new_app(served: str, backend: str, *, docs: bool) -> FastAPI:
    return FastAPI(
        title="fakenews",
        summary=f"Fake-news detector serving {served} ({backend})",
        description="Scores news articles: label 1 = fake, 0 = real, with P(fake). "
        "Every figure under /model was measured on the run's test split.",
        version="0.1.0",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )


def _add_scoring_routes(
    app: FastAPI,
    run: RunDir,
    predictor: Predictor,
    options: InferenceOptions,
    limits: ServeLimits,
    batching: BatchSettings | None,
    metrics: ServeMetrics,
) -> None:
    """``/predict`` (micro-batched, decided at the run's threshold), ``/explain`` and ``/metrics``."""
    scorer = _Scorer(predictor, run.label_names, run.threshold)
    batcher = MicroBatcher(scorer, batching, on_batch=metrics.observe_batch)
    _add_predict_route(app, batcher, limits)
    add_explain_route(
        app,
        run,
        predictor,
        _request_models(limits),
        lock=scorer.lock,  # one forward pass at a time, whichever route asks
        dependencies=[Depends(_declare_key)],
        device=options.device,
        threshold=run.threshold,
    )
    _add_metrics_route(app, metrics)


def create_app(
    run_dir: Path | str,
    *,
    api_key: str | None = None,
    limits: ServeLimits | None = None,
    options: InferenceOptions | None = None,
    predictor: Predictor | None = None,
    docs: bool = False,
    session_hours: float = DEFAULT_SESSION_HOURS,
    session_salt: bytes | None = None,
    batching: BatchSettings | None = None,
) -> FastAPI:
    """The FastAPI app serving the run in ``run_dir``; the model is loaded here, once.

    Args:
        run_dir: a run dir written by ``fakenews train``.
        api_key: when set, every endpoint but ``/health`` and ``/login`` needs this value
            (header ``X-API-Key``, or the session cookie ``POST /login`` sets; 401 otherwise);
            default None.
        limits: request limits (:class:`ServeLimits`; default its defaults).
        options: how to predict (:class:`~fakenews.predictors.base.InferenceOptions`: backend,
            long-article mode, batch size — a request's articles are sorted by length and
            batched —, device, precision).
        predictor: an already loaded predictor (tests inject one); default None loads the run's.
        docs: serve ``/docs`` (Swagger UI) and ``/redoc``, whose scripts come from a public
            CDN; default False (``/openapi.json`` is always served).
        session_hours: how long a browser session lasts (default 12).
        session_salt: the salt of the session-signing secret (default random, drawn here: a
            restart ends every session); processes serving one app together share one.
        batching: how concurrent requests share forward passes
            (:class:`~fakenews.serving.batching.BatchSettings`; default its defaults).
    """
    options = options or InferenceOptions()
    run = RunDir.open(run_dir)
    limits = limits or ServeLimits()
    sessions = _sessions(api_key, session_hours, session_salt)
    if predictor is None:
        predictor = load_predictor(run, options, quiet=True)
    app = _new_app(without_host_paths(run.config.model.name), options.backend, docs=docs)
    _add_middleware(app, limits, sessions)
    metrics = ServeMetrics(model=run.config.model.name, backend=options.backend)
    app.add_middleware(  # added last, so it runs first: 401s and 413s are counted too
        MetricsMiddleware,
        metrics=metrics,
        paths=lambda: [getattr(r, "path", "") for r in app.routes],
    )
    _add_error_handlers(app, limits)
    _add_scoring_routes(app, run, predictor, options, limits, batching, metrics)
    _add_info_routes(app, run, options, limits, api_key_required=api_key is not None)
    if sessions is not None:
        add_login_routes(app, sessions)
    install_openapi(app, api_key_required=api_key is not None)
    app.state.predictor = predictor
    app.state.metrics = metrics
    app.state.run = run
    return app
