"""HTTP serving of a trained run: :func:`create_app` (FastAPI) and one static page."""

from fakenews.serving.app import API_KEY_HEADER, ServeLimits, create_app

__all__ = ["API_KEY_HEADER", "ServeLimits", "create_app"]
