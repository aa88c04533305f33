"""A real uvicorn serving an app on 127.0.0.1 in a thread, for the tests that need real HTTP
(the browser test, the access-log test)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def live_uvicorn(app: object, **config: Any) -> Iterator[str]:
    """Serve ``app`` on a free port; yields its base URL (``http://127.0.0.1:PORT/``).

    ``config`` goes to :class:`uvicorn.Config` (default: warnings only, no access log).
    """
    # Bind first: the socket listens before the thread starts, so no start-up wait is needed.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    settings = {"log_level": "warning", "access_log": False, **config}
    server = uvicorn.Server(uvicorn.Config(app, **settings))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
