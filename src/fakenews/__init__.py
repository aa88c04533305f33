"""fakenews: fair, measured fake-news detection with efficient transformer encoders.

Each pipeline stage is a plain function (``data.prepare.prepare``, ``training.train``,
``evaluation.evaluate``, ``efficiency.benchmark``, ``comparison.compare``, ``predict.predict_file``,
``serving.serve``, ``export.export_onnx``); directories are the contracts between them (see
``fakenews.splits`` for the split dir and ``fakenews.rundir`` for the run dir, read typed).
Predictions come from ``fakenews.predictors.load_predictor``; every label from
``fakenews.metrics.decide``. Layers point down only: cli -> stages -> predictors/renderers ->
contracts -> ground.
"""

__version__ = "0.1.0"

LABELS: tuple[str, str] = ("real", "fake")
"""Class names by label id: 0 = real, 1 = fake (the project-wide convention)."""
