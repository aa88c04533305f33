"""The HTTP service through FastAPI's TestClient: good requests, every bad one, the API key."""

from __future__ import annotations

import json
import re
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.predictors import InferenceOptions, load_predictor
from fakenews.serving import API_KEY_HEADER, ServeLimits, bind_socket, create_app, serve

LIMITS = ServeLimits(max_body_bytes=4000, max_articles=3, max_chars=500)
KEY = "s3cret-key"


class FixedPredictor:
    """P(fake) = 0.9 when the text mentions aliens, else 0.2; records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        fake = np.array([0.9 if "aliens" in t else 0.2 for t in texts])
        return np.column_stack([1 - fake, fake])


@pytest.fixture(scope="module")
def client(tiny_run_dir: Path) -> TestClient:
    """The real tiny model, no key, small limits."""
    return TestClient(create_app(tiny_run_dir, limits=LIMITS), raise_server_exceptions=False)


@pytest.fixture()
def stub_client(tiny_run_dir: Path) -> tuple[TestClient, FixedPredictor]:
    stub = FixedPredictor()
    app = create_app(tiny_run_dir, limits=LIMITS, predictor=stub)
    return TestClient(app, raise_server_exceptions=False), stub


def assert_error(response, status: int, code: str, message: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    if message is not None:
        assert body["error"]["message"] == message
    assert "Traceback" not in response.text
    return body["error"]


# --------------------------------------------------------------------------- good requests


def test_single_and_batch_match_the_predictor(client: TestClient, tiny_run_dir: Path) -> None:
    texts = ["Senate passes the budget.", "Aliens endorse the mayor in a shocking twist."]
    expected = load_predictor(tiny_run_dir).predict_proba(
        ["Budget day Senate passes the budget.", texts[1]]
    )[:, 1]
    one = client.post("/predict", json={"title": "Budget day", "text": texts[0]})
    assert one.status_code == 200
    body = one.json()
    assert set(body) == {"label", "label_name", "prob_fake", "threshold"}
    assert body["threshold"] == 0.5  # the fixture run decides at 0.5 (decision policy argmax)
    assert body["prob_fake"] == pytest.approx(expected[0], abs=1e-6)
    assert body["label"] == int(expected[0] > 0.5) and body["label_name"] == (
        "fake" if body["label"] else "real"
    )
    batch = client.post(
        "/predict",
        json={"articles": [{"title": "Budget day", "text": texts[0]}, {"text": texts[1]}]},
    )
    assert batch.status_code == 200
    preds = batch.json()["predictions"]
    assert [p["prob_fake"] for p in preds] == pytest.approx(list(expected), abs=1e-6)


def test_batch_keeps_request_order(stub_client: tuple[TestClient, FixedPredictor]) -> None:
    client, stub = stub_client
    articles = [{"text": "plain"}, {"text": "aliens here"}, {"text": "plain again"}]
    preds = client.post("/predict", json={"articles": articles}).json()["predictions"]
    assert [p["label_name"] for p in preds] == ["real", "fake", "real"]
    assert stub.calls == [
        ["plain", "aliens here", "plain again"]
    ]  # one call: the predictor batches by length


def test_health_model_docs_and_page(client: TestClient) -> None:
    assert client.get("/health").json() == {
        "status": "ok",
        "model": "scratch:bert",
        "backend": "torch",
    }
    info = client.get("/model").json()
    assert info["name"] == "scratch:bert" and info["kind"] == "transformer"
    assert info["labels"] == {"0": "real", "1": "fake"}
    assert info["limits"] == {"max_body_bytes": 4000, "max_articles": 3, "max_chars": 500}
    # /docs and /redoc load their scripts from a CDN: off unless the server runs with --docs.
    assert_error(
        client.get("/docs"), 404, "not_found", "no such endpoint /docs; see /openapi.json."
    )
    assert_error(client.get("/redoc"), 404, "not_found")
    schema = client.get("/openapi.json").json()
    assert "/predict" in schema["paths"]
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="text"' in page.text and "not measured" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no external assets


def test_model_reports_measured_test_figures(tiny_run_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run_dir, run, ignore=shutil.ignore_patterns("checkpoints"))
    not_measured = TestClient(create_app(run, predictor=FixedPredictor())).get("/model").json()
    assert not_measured["test"] is None and not_measured["served_accuracy"] is None
    (run / "metrics").mkdir(exist_ok=True)
    metrics = {
        "n": 12,
        "accuracy": 0.75,
        "f1_weighted": 0.7,
        "backend": "torch",
        "long": "truncate",
    }
    (run / "metrics" / "test.json").write_text(json.dumps(metrics), encoding="utf-8")
    info = TestClient(create_app(run, predictor=FixedPredictor())).get("/model").json()
    assert (
        info["test"]["accuracy"] == 0.75
        and info["test"]["n"] == 12
        and info["test"]["roc_auc"] is None
    )
    assert info["served_accuracy"] == {"accuracy": 0.75, "n": 12, "source": "metrics/test.json"}
    # Served another way (chunks; ONNX) the torch/truncate figure is not the served model's.
    chunks = (
        TestClient(
            create_app(run, options=InferenceOptions(long="chunks"), predictor=FixedPredictor())
        )
        .get("/model")
        .json()
    )
    assert chunks["served_accuracy"] is None
    fingerprint = json.loads((run / "data_manifest.json").read_text(encoding="utf-8"))[
        "fingerprint"
    ]
    (run / "onnx").mkdir()
    export = {"split": "test", "n": 12, "accuracy_onnx": 0.5, "data_fingerprint": fingerprint}
    (run / "onnx" / "export.json").write_text(json.dumps(export), encoding="utf-8")
    onnx = (
        TestClient(
            create_app(run, options=InferenceOptions(backend="onnx"), predictor=FixedPredictor())
        )
        .get("/model")
        .json()
    )
    assert onnx["served_accuracy"] == {"accuracy": 0.5, "n": 12, "source": "onnx/export.json"}
    assert onnx["export"] == export
    # `fakenews evaluate --long chunks` writes metrics/test+chunks.json: the chunks server shows it.
    (run / "metrics" / "test+chunks.json").write_text(
        json.dumps({**metrics, "accuracy": 0.8, "long": "chunks"}), encoding="utf-8"
    )
    chunks = (
        TestClient(
            create_app(run, options=InferenceOptions(long="chunks"), predictor=FixedPredictor())
        )
        .get("/model")
        .json()
    )
    assert chunks["served_accuracy"] == {
        "accuracy": 0.8,
        "n": 12,
        "source": "metrics/test+chunks.json",
    }


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"text": ""}, "text: text is empty or only whitespace; send the article's text"),
        ({"text": " \n\t "}, "text: text is empty or only whitespace; send the article's text"),
        ({"text": None}, "text: Input should be a valid string"),
        ({"text": 42}, "text: Input should be a valid string"),
        ({"text": ["a"]}, "text: Input should be a valid string"),
        ({"title": None, "text": "x"}, "title: Input should be a valid string"),
        ({"title": "t"}, "text: Field required"),
        ({}, "text: Field required"),
        ({"text": "x", "author": "me"}, "author: Extra inputs are not permitted"),
        ({"text": "x" * 501}, "text: String should have at most 500 characters"),
        ({"title": "x" * 501, "text": "x"}, "title: String should have at most 500 characters"),
        ({"articles": []}, "articles: List should have at least 1 item after validation, not 0"),
        (
            {"articles": [{"text": "a"}] * 4},
            "articles: List should have at most 3 items after validation, not 4",
        ),
        ({"articles": "text"}, "articles: Input should be a valid list"),
        (
            {"articles": [{"text": "ok"}, {"text": "  "}]},
            "articles.1.text: text is empty or only whitespace; send the article's text",
        ),
        (
            {"articles": [None]},
            'articles.0: each article must be a JSON object such as {"title": "...", "text": "..."}.',
        ),
        ({"articles": [{"text": "a"}], "extra": 1}, "extra: Extra inputs are not permitted"),
        (
            [{"text": "a"}],
            'request body must be a JSON object: {"text": "..."} or {"articles": [{"text": "..."}]}.',
        ),
        (
            "just a string",
            'request body must be a JSON object: {"text": "..."} or {"articles": [{"text": "..."}]}.',
        ),
        (
            None,
            'request body must be a JSON object: {"text": "..."} or {"articles": [{"text": "..."}]}.',
        ),
    ],
)
def test_invalid_articles_are_422(
    stub_client: tuple[TestClient, FixedPredictor], payload: object, message: str
) -> None:
    client, stub = stub_client
    response = client.post(
        "/predict", content=json.dumps(payload), headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_article", message)
    assert stub.calls == []


def test_malformed_and_missing_bodies(stub_client: tuple[TestClient, FixedPredictor]) -> None:
    client, _ = stub_client
    json_headers = {"content-type": "application/json"}
    assert_error(
        client.post("/predict", content=b'{"text": "unterminated', headers=json_headers),
        400,
        "malformed_json",
        'request body is not valid JSON; send a JSON object such as {"text": "..."}.',
    )
    missing = 'request body is missing; send {"text": "..."} or {"articles": [{"text": "..."}]}.'
    assert_error(
        client.post("/predict", content=b"", headers=json_headers), 422, "invalid_article", missing
    )
    assert_error(
        client.post("/predict"),
        415,
        "unsupported_media_type",
        "request has no Content-Type; send JSON with the header Content-Type: application/json.",
    )
    assert_error(
        client.post("/predict", content=b'{"text": "x"}', headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
        "request body has Content-Type text/plain; send JSON with the header Content-Type: application/json.",
    )
    assert_error(
        client.post("/predict", content=b"\xff\xfe{", headers=json_headers),
        400,
        "malformed_json",
        'request body could not be parsed; send UTF-8 JSON such as {"text": "..."}.',
    )


def test_oversized_bodies_are_413(stub_client: tuple[TestClient, FixedPredictor]) -> None:
    client, stub = stub_client
    message = (
        "request body is larger than the limit of 4,000 bytes; send fewer or shorter articles."
    )
    big = json.dumps({"text": "x" * 5000}).encode()
    assert_error(
        client.post("/predict", content=big, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
        message,
    )

    def chunked():  # no Content-Length: counted while it streams in
        yield b'{"text": "'
        for _ in range(5):
            yield b"y" * 1000
        yield b'"}'

    assert_error(
        client.post("/predict", content=chunked(), headers={"content-type": "application/json"}),
        413,
        "body_too_large",
        message,
    )
    assert_error(client.request("GET", "/health", content=big), 413, "body_too_large", message)
    assert stub.calls == []


def test_unknown_routes_and_methods(client: TestClient) -> None:
    assert_error(
        client.get("/nope"), 404, "not_found", "no such endpoint /nope; see /openapi.json."
    )
    response = client.get("/predict")
    assert_error(
        response, 405, "method_not_allowed", "GET is not allowed on /predict; see /openapi.json."
    )
    assert response.headers["allow"] == "POST"


def test_unexpected_failure_is_a_generic_500_without_traceback(tiny_run_dir: Path) -> None:
    class Broken:
        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("secret internal detail")

    client = TestClient(create_app(tiny_run_dir, predictor=Broken()), raise_server_exceptions=False)
    response = client.post("/predict", json={"text": "x"})
    assert_error(
        response, 500, "internal_error", "the server failed to answer; the cause is in its log."
    )
    assert "secret" not in response.text


# --------------------------------------------------------------------------- API key


def test_api_key_guards_everything_but_health(tiny_run_dir: Path) -> None:
    client = TestClient(
        create_app(tiny_run_dir, api_key=KEY, predictor=FixedPredictor()),
        raise_server_exceptions=False,
    )
    message = (
        f"missing or wrong API key; send it in the {API_KEY_HEADER} header "
        "(in a browser, sign in at /login)."
    )
    for headers in ({}, {API_KEY_HEADER: "wrong"}, {API_KEY_HEADER: ""}):
        response = client.post("/predict", json={"text": "x"}, headers=headers)
        assert_error(response, 401, "unauthorized", message)
        for path in ("/model", "/", "/docs", "/openapi.json", "/no-such-page"):
            assert_error(client.get(path, headers=headers), 401, "unauthorized", message)
    good = {API_KEY_HEADER: KEY}
    assert (
        client.post("/predict", json={"text": "aliens"}, headers=good).json()["label_name"]
        == "fake"
    )
    assert client.get("/model", headers=good).json()["api_key_required"] is True
    for path in ("/", "/openapi.json"):
        assert client.get(path, headers=good).status_code == 200
    assert client.get("/health").status_code == 200
    # A bad body without the key is still a 401: the key is checked first and nothing leaks.
    assert_error(client.post("/predict", json={"text": ""}), 401, "unauthorized", message)
    # The key only works in the query on a GET, and a wrong one sets no cookie.
    assert_error(client.get("/?api_key=wrong"), 401, "unauthorized", message)
    assert "fakenews_session" not in client.cookies
    response = client.post(f"/predict?api_key={KEY}", json={"text": "x"})
    assert_error(response, 401, "unauthorized", message)


def test_bad_app_settings(tiny_run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(
        FakeNewsError, match=re.escape("--max-articles must be a positive integer; found 0.")
    ):
        ServeLimits(max_articles=0)
    with pytest.raises(FakeNewsError, match="--api-key is empty"):
        create_app(tiny_run_dir, api_key=" ", predictor=FixedPredictor())
    with pytest.raises(
        FakeNewsError, match=re.escape("is not a complete run dir: config.yaml is missing")
    ):
        create_app(tmp_path, predictor=FixedPredictor())


# --------------------------------------------------------------------------- the CLI


def test_serve_refuses_a_port_in_use(
    tiny_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code = main(["serve", str(tiny_run_dir), "--port", str(port), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err.strip()
        == f"error: port {port} on 127.0.0.1 is already in use; stop the other server or pass another --port."
    )


def test_serve_rejects_bad_options(
    tiny_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(tiny_run_dir), "--port", "70000"]) == 1
    assert capsys.readouterr().err.strip() == "error: --port must be from 1 to 65535; found 70000."
    assert main(["serve", str(tmp_path / "missing")]) == 1
    assert "found nothing there" in capsys.readouterr().err


# --------------------------------------------------------------------------- serve() and its socket


def test_accepted_connections_have_nagle_off() -> None:
    # Without TCP_NODELAY every answer on a keep-alive connection waits for a delayed ACK.
    listening = bind_socket("127.0.0.1", 0)
    with listening, socket.create_connection(listening.getsockname()):
        assert listening.proto == socket.IPPROTO_TCP  # so asyncio sets TCP_NODELAY on accept
        accepted, _ = listening.accept()
        with accepted:  # and Linux copies it from the listening socket
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_serve_hands_uvicorn_its_socket_and_warns_when_open_without_a_key(
    tiny_baseline_run_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handed: list[tuple[int, int]] = []  # (port, TCP_NODELAY) of each socket uvicorn is given
    configs: list[uvicorn.Config] = []

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        configs.append(self.config)
        handed.extend(
            (s.getsockname()[1], s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            for s in sockets
        )

    monkeypatch.setattr(uvicorn.Server, "run", run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve(
        tiny_baseline_run_dir, host="0.0.0.0", port=port, quiet=True, forwarded_allow_ips="10.0.0.1"
    )
    assert len(handed) == 1 and handed[0][0] == port and handed[0][1] != 0
    # The access log masks api_key=...; X-Forwarded-Proto is trusted from the named proxy only.
    (config,) = configs
    assert isinstance(config.log_config, dict)
    assert config.log_config["loggers"]["uvicorn.access"]["filters"] == ["redact_api_key"]
    assert config.forwarded_allow_ips == "10.0.0.1"
    assert "serving on 0.0.0.0 without --api-key: anyone who can reach it may use it" in caplog.text
    with pytest.raises(FakeNewsError, match=re.escape("--port must be from 1 to 65535; found 0.")):
        serve(tiny_baseline_run_dir, port=0)
