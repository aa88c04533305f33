"""Keep-alive latency, before and after ``TCP_NODELAY``: the same app (a TF-IDF run by default)
on two loopback servers in this process, one on a plain listening socket with uvicorn's own
h11 protocol (Nagle's algorithm on: the way ``serve`` ran before), one the way ``serve`` runs
now (:func:`fakenews.serving.bind_socket` + :class:`~fakenews.serving.server.ServeConfig`).
One ``http.client`` keep-alive connection per server, the servers taking turns request by
request; p50 and p99 per server.

    python benchmarks/bench_keepalive.py --run RUN_DIR [--requests 200]

Writes ``benchmarks/results/bench_keepalive-<machine>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DEFAULT_DATA, load_articles, machine_info, table, write_result
from _serve import percentile

from fakenews.serving import ServerSettings, bind_socket, create_app
from fakenews.serving.server import ServeConfig


@contextmanager
def thread_server(config: uvicorn.Config, sock: socket.socket) -> Iterator[int]:
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def plain_socket() -> socket.socket:
    """A listening socket as ``serve`` made it before: no TCP_NODELAY, protocol 0."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    texts = load_articles(args.data, n=50).texts
    info = machine_info()
    app = create_app(args.run)
    log = {"log_level": "warning", "access_log": False}
    before_config = uvicorn.Config(app, http="h11", **log)
    after_config = ServeConfig(app, settings=ServerSettings(), **log)
    seconds: dict[str, list[float]] = {"before (Nagle on)": [], "after (TCP_NODELAY)": []}
    with (
        thread_server(before_config, plain_socket()) as before,
        thread_server(after_config, bind_socket("127.0.0.1", 0)) as after,
    ):
        conns = {
            name: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for name, port in zip(seconds, (before, after), strict=True)
        }
        for i in range(args.requests + 5):
            body = json.dumps({"text": texts[i % len(texts)]})
            for name, conn in conns.items():
                started = time.perf_counter()
                conn.request("POST", "/predict", body, {"content-type": "application/json"})
                assert conn.getresponse().read().startswith(b'{"label":')
                if i >= 5:  # the first requests open the connection and warm up
                    seconds[name].append(time.perf_counter() - started)
    rows: list[list[Any]] = [
        [name, len(s), 1000 * percentile(s, 50), 1000 * percentile(s, 99)]
        for name, s in seconds.items()
    ]
    print(f"load average {os.getloadavg()}")
    print(table(rows, ["server", "requests", "p50 ms", "p99 ms"]))
    payload = {
        "run": str(args.run),
        "rows": [
            dict(zip(["server", "requests", "p50_ms", "p99_ms"], r, strict=True)) for r in rows
        ],
        "machine": info,
    }
    print(f"wrote {write_result('bench_keepalive', payload, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
