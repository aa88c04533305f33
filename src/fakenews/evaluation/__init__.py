"""``fakenews evaluate``: ``result`` (the :class:`EvaluationResult` type and the error table),
``stage`` (:func:`evaluate`), ``plots`` and ``errors`` (renderers: they import the result,
never the stage)."""

from fakenews.evaluation.result import EvaluationResult
from fakenews.evaluation.stage import evaluate

__all__ = ["EvaluationResult", "evaluate"]
