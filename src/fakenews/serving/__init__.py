"""HTTP serving of a trained run: :func:`create_app` (the FastAPI app, in ``app``), :func:`serve`
(bind, load, run uvicorn, in ``server``) and one static page."""

from fakenews.serving.app import API_KEY_HEADER, ServeLimits, create_app
from fakenews.serving.server import bind_socket, serve

__all__ = ["API_KEY_HEADER", "ServeLimits", "bind_socket", "create_app", "serve"]
