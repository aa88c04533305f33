"""Keep the API key out of the server's log.

uvicorn writes one access line per request with the URL's query string, so the old browser link
``/?api_key=KEY`` would put the key in clear text in the log. :class:`RedactApiKey`, a filter on
the ``uvicorn.access`` logger (so every handler sees the masked line), writes ``api_key=***``
instead; :func:`uvicorn_log_config` is uvicorn's own logging set-up with that filter added.
"""

from __future__ import annotations

import copy
import logging
from typing import Any
from urllib.parse import unquote_plus

from uvicorn.config import LOGGING_CONFIG

from fakenews.serving.auth import API_KEY_QUERY

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "***"


def redact_api_key(text: str) -> str:
    """``text`` with the value of every ``api_key`` query parameter replaced by ``***``.

    ``text`` is a URL path with its query (``/?api_key=KEY&x=1``), as in uvicorn's access line;
    the parameter is found under any spelling the app would also read (``api%5Fkey``, any case).
    """
    path, sep, query = text.partition("?")
    if not sep:
        return text
    query, space, rest = query.partition(" ")
    pairs = []
    for pair in query.split("&"):
        name = pair.partition("=")[0]
        masked = unquote_plus(name).strip().lower() == API_KEY_QUERY
        pairs.append(f"{name}={REDACTED}" if masked else pair)
    return path + sep + "&".join(pairs) + space + rest


class RedactApiKey(logging.Filter):
    """Masks ``api_key=...`` in a record's message and arguments; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_api_key(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_api_key(a) if isinstance(a, str) else a for a in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with :class:`RedactApiKey` on its access logger."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_api_key"] = {"()": RedactApiKey}
    config["loggers"][ACCESS_LOGGER]["filters"] = ["redact_api_key"]
    return config
