"""Shared helpers of ``bench_serve.py``, ``bench_soak.py`` and ``tests/test_serve_soak.py``: a real
``fakenews serve`` subprocess on loopback, keep-alive client threads, the soak's request mix.

Not part of the library (scripts and tests only).
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(run_dir: Path, *args: str, startup_s: float = 300) -> Iterator[tuple[int, int]]:
    """``fakenews serve RUN_DIR ARGS --port P --quiet`` in a subprocess: yields (port, pid)."""
    port = free_port()
    command = [sys.executable, "-m", "fakenews", "serve", str(run_dir), "--port", str(port)]
    process = subprocess.Popen([*command, "--quiet", *args], cwd=ROOT)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"fakenews serve exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("fakenews serve did not start") from None
                time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(60)


@dataclass
class Outcome:
    """One request's answer (status 0 = no answer: the connection failed)."""

    kind: str
    status: int
    seconds: float
    body: bytes = b""
    content_type: str = ""


@dataclass(frozen=True)
class Call:
    """One request to send: ``kind`` names it in the tallies."""

    kind: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def send(conn: http.client.HTTPConnection, call: Call) -> Outcome:
    """Send ``call`` on a keep-alive connection (reopened by http.client when the server closed it)."""
    started = time.perf_counter()
    try:
        conn.request(call.method, call.path, body=call.body, headers=call.headers)
        answer = conn.getresponse()
        body = answer.read()
        ctype = answer.getheader("content-type") or ""
        return Outcome(call.kind, answer.status, time.perf_counter() - started, body, ctype)
    except (OSError, http.client.HTTPException):
        conn.close()
        return Outcome(call.kind, 0, time.perf_counter() - started)


def run_clients(port: int, calls: Sequence[Call], clients: int) -> tuple[list[Outcome], float]:
    """``calls`` shared round-robin by ``clients`` threads, one keep-alive connection each;
    returns every outcome and the wall seconds."""
    outcomes: list[list[Outcome]] = [[] for _ in range(clients)]

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for call in calls[i::clients]:
                outcomes[i].append(send(conn, call))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [o for per in outcomes for o in per], time.perf_counter() - started


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between ranks."""
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1])


def metric(text: str, name: str) -> float:
    """The value of the ``/metrics`` sample line starting with ``name`` (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return str(answer.read().decode())


# --------------------------------------------------------------------------- the soak's mix

SOAK_KEY = "soak-key"
SOAK_MAX_BODY = 200_000
SOAK_MAX_CHARS = 20_000
SOAK_MAX_ARTICLES = 8

BAD: dict[str, tuple[int, str]] = {
    "empty_text": (422, "invalid_article"),
    "missing_text": (422, "invalid_article"),
    "null_text": (422, "invalid_article"),
    "unknown_field": (422, "invalid_article"),
    "too_many_articles": (422, "invalid_article"),
    "text_too_long": (422, "invalid_article"),
    "not_an_object": (422, "invalid_article"),
    "malformed_json": (400, "malformed_json"),
    "not_json_type": (415, "unsupported_media_type"),
    "body_too_large": (413, "body_too_large"),
    "no_key": (401, "unauthorized"),
    "wrong_key": (401, "unauthorized"),
    "unknown_route": (404, "not_found"),
    "wrong_method": (405, "method_not_allowed"),
}
"""Each bad request kind with the status and error code it must get."""

SOAK_SERVE_ARGS = (
    "--api-key",
    SOAK_KEY,
    "--max-body-bytes",
    str(SOAK_MAX_BODY),
    "--max-chars",
    str(SOAK_MAX_CHARS),
    "--max-articles",
    str(SOAK_MAX_ARTICLES),
)


def soak_calls(texts: Sequence[str], n: int) -> list[Call]:
    """``n`` requests: every third one good (a single article or a batch of real ones), the rest
    cycling through the bad kinds of :data:`BAD`."""
    key = {"X-API-Key": SOAK_KEY}
    arts = [t[:SOAK_MAX_CHARS] for t in texts]
    makers: dict[str, Callable[[int], Call]] = {
        "empty_text": lambda i: _post("empty_text", {"text": "  "}, key),
        "missing_text": lambda i: _post("missing_text", {"title": "t"}, key),
        "null_text": lambda i: _post("null_text", {"text": None}, key),
        "unknown_field": lambda i: _post("unknown_field", {"text": "x", "extra": 1}, key),
        "too_many_articles": lambda i: _post(
            "too_many_articles", {"articles": [{"text": "x"}] * (SOAK_MAX_ARTICLES + 1)}, key
        ),
        "text_too_long": lambda i: _post("text_too_long", {"text": "y" * (SOAK_MAX_CHARS + 1)}, key),
        "not_an_object": lambda i: _post("not_an_object", [1, 2], key),
        "malformed_json": lambda i: Call("malformed_json", "POST", "/predict", b'{"text": ', {**JSON, **key}),
        "not_json_type": lambda i: Call("not_json_type", "POST", "/predict", b"text=x", {"content-type": "text/plain", **key}),
        "body_too_large": lambda i: Call("body_too_large", "POST", "/predict", b"z" * (SOAK_MAX_BODY + 1), {**JSON, **key}),
        "no_key": lambda i: _post("no_key", {"text": arts[i % len(arts)]}, {}),
        "wrong_key": lambda i: _post("wrong_key", {"text": arts[i % len(arts)]}, {"X-API-Key": "wrong"}),
        "unknown_route": lambda i: Call("unknown_route", "GET", f"/nope/{i}", None, key),
        "wrong_method": lambda i: Call("wrong_method", "GET", "/predict", None, key),
    }  # fmt: skip
    kinds = list(BAD)
    calls = []
    for i in range(n):
        if i % 3 == 0:
            if i % 2:
                batch = [{"text": arts[(i + j) % len(arts)]} for j in range(3)]
                calls.append(_post("good_batch", {"articles": batch}, key))
            else:
                calls.append(_post("good", {"text": arts[i % len(arts)]}, key))
        else:
            calls.append(makers[kinds[i % len(kinds)]](i))
    return calls


def _post(kind: str, payload: Any, headers: dict[str, str]) -> Call:
    return Call(kind, "POST", "/predict", json.dumps(payload).encode(), {**JSON, **headers})


def check(outcome: Outcome) -> str | None:
    """Why ``outcome`` is wrong for its kind, or None when it is right."""
    if outcome.status >= 500 or outcome.status == 0:
        return f"{outcome.kind}: status {outcome.status}"
    if not outcome.content_type.startswith("application/json"):
        return f"{outcome.kind}: content-type {outcome.content_type!r}"
    body = json.loads(outcome.body)
    if outcome.kind in ("good", "good_batch"):
        good = outcome.status == 200 and ("prob_fake" in body or "predictions" in body)
        return None if good else f"{outcome.kind}: status {outcome.status}"
    status, code = BAD[outcome.kind]
    error = body.get("error") if isinstance(body, dict) else None
    if outcome.status != status or not isinstance(error, dict) or error.get("code") != code:
        return f"{outcome.kind}: status {outcome.status}, body {outcome.body[:80]!r}"
    if set(error) != {"code", "message", "details"} or not error["message"]:
        return f"{outcome.kind}: error shape {sorted(error)}"
    return None
