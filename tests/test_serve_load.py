"""Serving under load: micro-batching, /metrics, and a real uvicorn server's connection guards
(413 for urllib, read timeout, connection cap, TCP_NODELAY) and ``--workers 2``."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.serving import (
    API_KEY_HEADER,
    BatchSettings,
    MicroBatcher,
    ServeLimits,
    ServerSettings,
    bind_socket,
    create_app,
)
from fakenews.serving.server import ServeConfig

KEY = "load-key"
ROOT = Path(__file__).resolve().parents[1]


class StubPredictor:
    """P(fake) = 0.9 when the text mentions aliens, else 0.2; records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        fake = np.array([0.9 if "aliens" in t else 0.2 for t in texts])
        return np.column_stack([1 - fake, fake])


async def _post_all(app: FastAPI, bodies: list[dict]) -> list[httpx.Response]:  # type: ignore[type-arg]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(*(client.post("/predict", json=b) for b in bodies)))


# --------------------------------------------------------------------------- micro-batching


def test_concurrent_requests_share_one_forward_pass_and_get_their_own_answers(
    tiny_run_dir: Path,
) -> None:
    stub = StubPredictor()
    batching = BatchSettings(max_batch=6, max_wait_ms=5000)  # the 6th article fills the batch
    app = create_app(tiny_run_dir, predictor=stub, batching=batching)
    bodies = [
        {"text": "plain one"},
        {"articles": [{"text": "aliens two"}, {"text": "plain three"}]},
        {"text": "aliens four"},
        {"articles": [{"text": "plain five"}, {"text": "aliens six"}]},
    ]
    responses = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    # One forward pass for all six articles (requests join it in whatever order they arrive).
    assert len(stub.calls) == 1
    assert sorted(stub.calls[0]) == sorted(
        ["plain one", "aliens two", "plain three", "aliens four", "plain five", "aliens six"]
    )
    assert responses[0].json()["label_name"] == "real"
    assert [p["label_name"] for p in responses[1].json()["predictions"]] == ["fake", "real"]
    assert responses[2].json()["label_name"] == "fake"
    assert [p["prob_fake"] for p in responses[3].json()["predictions"]] == [0.2, 0.9]


def test_max_batch_one_scores_one_request_at_a_time(tiny_run_dir: Path) -> None:
    stub = StubPredictor()
    app = create_app(tiny_run_dir, predictor=stub, batching=BatchSettings(max_batch=1))
    bodies = [{"text": f"text {i}"} for i in range(4)]
    responses = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in responses] == [200] * 4
    assert sorted(stub.calls) == [["text 0"], ["text 1"], ["text 2"], ["text 3"]]


def test_a_request_is_never_split_and_a_failing_one_fails_only_itself() -> None:
    calls: list[list[str]] = []

    def score(texts: list[str]) -> list[str]:
        calls.append(texts)
        if "boom" in texts:
            raise ValueError("the model broke on boom")
        return [t.upper() for t in texts]

    async def main() -> list[list[str] | BaseException]:
        batcher = MicroBatcher(score, BatchSettings(max_batch=3, max_wait_ms=5000))
        jobs = [batcher.score(list("abcf")), batcher.score(["d", "boom"]), batcher.score(["e"])]
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    first, second, third = asyncio.run(main())
    assert first == ["A", "B", "C", "F"] and third == ["E"]
    assert isinstance(second, ValueError) and str(second) == "the model broke on boom"
    # "abcf" is larger than max_batch and goes alone; the failed batch is retried request by request.
    assert calls == [list("abcf"), ["d", "boom", "e"], ["d", "boom"], ["e"]]


def test_bad_batching_and_server_settings_are_one_line_errors() -> None:
    with pytest.raises(
        FakeNewsError, match=re.escape("--max-batch must be a positive integer; found 0.")
    ):
        BatchSettings(max_batch=0)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "--max-wait-ms must be a number of milliseconds from 0 to 10000; found -1."
        ),
    ):
        BatchSettings(max_wait_ms=-1)
    with pytest.raises(
        FakeNewsError, match=re.escape("--workers must be a positive integer; found 0.")
    ):
        ServerSettings(workers=0)
    with pytest.raises(
        FakeNewsError,
        match=re.escape("--read-timeout must be a positive number of seconds; found 0."),
    ):
        ServerSettings(read_timeout=0)


# --------------------------------------------------------------------------- /metrics


def _metric(text: str, name: str) -> float:
    """The value of the sample line that starts with ``name`` (labels included)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_count_requests_batches_and_name_the_model_behind_the_key(
    tiny_run_dir: Path,
) -> None:
    app = create_app(tiny_run_dir, api_key=KEY, predictor=StubPredictor())
    client = TestClient(app, raise_server_exceptions=False)
    good = {API_KEY_HEADER: KEY}
    assert client.get("/metrics").status_code == 401  # not open like /health
    client.post("/predict", json={"text": "aliens"}, headers=good)
    client.post("/predict", json={"articles": [{"text": "a"}, {"text": "b"}]}, headers=good)
    client.post("/predict", json={"text": " "}, headers=good)
    client.get("/no-such-page", headers=good)
    client.get("/health")
    response = client.get("/metrics", headers=good)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    requests = "fakenews_requests_total"
    assert _metric(text, requests + '{endpoint="/predict",method="POST",status="200"}') == 2
    assert _metric(text, requests + '{endpoint="/predict",method="POST",status="422"}') == 1
    assert _metric(text, requests + '{endpoint="/metrics",method="GET",status="401"}') == 1
    assert _metric(text, requests + '{endpoint="other",method="GET",status="404"}') == 1
    assert _metric(text, requests + '{endpoint="/health",method="GET",status="200"}') == 1
    assert _metric(text, 'fakenews_request_seconds_count{endpoint="/predict"}') == 3
    assert _metric(text, "fakenews_batch_articles_count") == 2
    assert _metric(text, "fakenews_batch_articles_sum") == 3
    assert _metric(text, "fakenews_batch_requests_sum") == 2
    assert _metric(text, 'fakenews_model_info{backend="torch",model="scratch:bert"}') == 1
    # Another app in the same process starts from zero: one registry per app.
    other = TestClient(create_app(tiny_run_dir, predictor=StubPredictor())).get("/metrics").text
    assert "fakenews_batch_articles_count 0.0" in other
    assert 'status="200"' not in other


# --------------------------------------------------------------------------- a real server


@contextmanager
def running(app: FastAPI, settings: ServerSettings) -> Iterator[tuple[int, uvicorn.Server]]:
    """``app`` on a loopback port through :class:`ServeConfig`, in a thread."""
    sock = bind_socket("127.0.0.1", 0)
    config = ServeConfig(app, settings=settings, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1], server
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_urllib_writing_a_whole_oversized_body_gets_the_413(tiny_run_dir: Path) -> None:
    app = create_app(
        tiny_run_dir, limits=ServeLimits(max_body_bytes=4000), predictor=StubPredictor()
    )
    body = json.dumps({"text": "x" * 10_000_000}).encode()  # more than loopback buffers hold
    with running(app, ServerSettings()) as (port, _):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict",
            data=body,
            headers={"content-type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=30)
        assert caught.value.code == 413
        assert caught.value.headers["connection"] == "close"
        error = json.loads(caught.value.read())["error"]
        assert error["code"] == "body_too_large"
        assert error["message"] == (
            "request body is larger than the limit of 4,000 bytes; send fewer or shorter articles."
        )


def test_slow_clients_are_cut_off_and_keep_alive_connections_have_nagle_off(
    tiny_run_dir: Path,
) -> None:
    app = create_app(tiny_run_dir, predictor=StubPredictor())
    with running(app, ServerSettings(read_timeout=0.5)) as (port, server):
        keep_alive = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for text in ("aliens", "plain", "aliens again"):
            keep_alive.request(
                "POST", "/predict", json.dumps({"text": text}), {"content-type": "application/json"}
            )
            assert keep_alive.getresponse().read().startswith(b'{"label":')
        (served,) = list(server.server_state.connections)  # the server's side of the connection
        sock = served.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        keep_alive.close()
        for partial in (b"", b"POST /predict HTTP/1.1\r\nHost: x\r\n"):  # idle; headers never end
            with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
                slow.sendall(partial)
                assert slow.recv(100) == b""  # the server closed it without an answer
        body_never_ends = (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"text": '
        )
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(body_never_ends)
            assert slow.recv(100) == b""


def test_connections_beyond_the_cap_get_a_json_503(tiny_run_dir: Path) -> None:
    app = create_app(tiny_run_dir, predictor=StubPredictor())
    with running(app, ServerSettings(max_connections=2)) as (port, _):
        first = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        second = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for conn in (first, second):
            conn.request("GET", "/health")
            assert conn.getresponse().read().startswith(b'{"status":"ok"')
        third = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        third.request("GET", "/health")
        answer = third.getresponse()
        assert answer.status == 503 and answer.getheader("connection") == "close"
        assert json.loads(answer.read())["error"] == {
            "code": "over_capacity",
            "message": "the server is serving its limit of 2 connections; retry in a moment.",
            "details": [],
        }
        first.close()
        third.close()
        time.sleep(0.2)  # let the server see the closes (not a timing assertion)
        again = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        again.request("GET", "/health")
        assert again.getresponse().status == 200
        again.close()
        second.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_two_workers_answer_and_metrics_add_up_over_both(tiny_baseline_run_dir: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "fakenews", "serve", str(tiny_baseline_run_dir)]
    command += ["--port", str(port), "--workers", "2", "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
    try:
        _wait_healthy(port, process)
        workers = [
            c
            for c in psutil.Process(process.pid).children()
            if "resource_tracker" not in " ".join(c.cmdline())
        ]
        assert len(workers) == 2
        sent = 12
        for i in range(sent):  # a fresh connection each: either worker may accept it
            body = json.dumps({"text": f"The senate voted on bill number {i}."}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict",
                data=body,
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as r:
                answer = json.loads(r.read())
            assert answer["label_name"] in ("real", "fake") and 0 <= answer["prob_fake"] <= 1
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            text = r.read().decode()
        ok = 'fakenews_requests_total{endpoint="/predict",method="POST",status="200"}'
        assert _metric(text, ok) == sent
        assert _metric(text, "fakenews_batch_articles_count") == sent
        assert _metric(text, 'fakenews_model_info{backend="torch",model="tfidf-logreg"}') == 1
    finally:
        process.terminate()
        process.wait(30)
    assert process.returncode == 0


def test_serve_rejects_bad_load_options_in_one_line(
    tiny_baseline_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = str(tiny_baseline_run_dir)
    assert main(["serve", run, "--max-batch", "0"]) == 1
    assert (
        capsys.readouterr().err.strip() == "error: --max-batch must be a positive integer; found 0."
    )
    assert main(["serve", run, "--max-connections", "0"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --max-connections must be a positive integer; found 0."
    )
