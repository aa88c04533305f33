"""Predictors: class probabilities for a list of texts, from any run dir.

``base`` defines the :class:`~fakenews.predictors.base.Predictor` protocol, the one bag of
:class:`~fakenews.predictors.base.InferenceOptions` and :class:`~fakenews.predictors.base.Windowing`;
``windows`` the encoding the transformer backends share (tokenize -> windows -> length-sorted
batches -> average); ``transformer`` the PyTorch forward pass, ``onnx`` the ONNX Runtime one,
``baseline`` the TF-IDF model; ``load`` picks the right one for a run:
:func:`~fakenews.predictors.load.load_predictor`. Predictors import no stage.
"""

from fakenews.predictors.base import InferenceOptions, Predictor, Windowing
from fakenews.predictors.load import load_predictor

__all__ = ["InferenceOptions", "Predictor", "Windowing", "load_predictor"]
