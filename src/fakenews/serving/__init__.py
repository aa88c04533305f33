"""HTTP serving of a trained run: :func:`create_app` (the FastAPI app, in ``app``), :func:`serve`
(bind, load, run uvicorn, in ``server``), micro-batching (``batching``), Prometheus metrics
(``metrics``) and one static page."""

from fakenews.serving.app import API_KEY_HEADER, ServeLimits, create_app
from fakenews.serving.batching import BatchSettings, MicroBatcher
from fakenews.serving.server import ServerSettings, bind_socket, serve

__all__ = [
    "API_KEY_HEADER",
    "BatchSettings",
    "MicroBatcher",
    "ServeLimits",
    "ServerSettings",
    "bind_socket",
    "create_app",
    "serve",
]
