"""fakenews: fair, measured fake-news detection with efficient transformer encoders.

Each pipeline stage is a plain function (``prepare``, ``train``, ``evaluate``, ``benchmark``,
``compare``, ``predict``, ``serve``, ``export``); directories are the contracts between them
(see ``fakenews.splits`` for the split dir and ``fakenews.rundir`` for the run dir).
"""

__version__ = "0.1.0"

LABELS: tuple[str, str] = ("real", "fake")
"""Class names by label id: 0 = real, 1 = fake (the project-wide convention)."""
