"""The run dir contract (output of ``train``, enriched by ``evaluate``/``benchmark``/``export``).

::

    RUN_DIR/
      config.yaml           resolved config (model.kind: transformer | baseline)
      data_manifest.json    copy of the split dir's manifest (fingerprint!)
      model/                save_pretrained model + tokenizer, or the baseline's files
      checkpoints/          Trainer checkpoints (resume)
      history.jsonl         one JSON object per logging step / epoch
      train_summary.json    wall time, steps, best checkpoint, device
      metrics/<key>.json    key = split ("test") or "<data name>.<split>" for another data set
      predictions/<key>.csv id, label, pred, prob_fake
      errors/<key>.md|.csv  error analysis
      efficiency.json       benchmark figures
      plots/*.png           figures
      model_card.json, README.md
      onnx/                 exported model + export.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakenews.errors import FakeNewsError

CONFIG = "config.yaml"
DATA_MANIFEST = "data_manifest.json"
MODEL = "model"


def eval_key(split: str, data_name: str | None = None) -> str:
    """Key of an evaluation's files: ``test`` in-domain, ``horne2017.test`` on another data set."""
    return split if not data_name else f"{data_name}.{split}"


@dataclass(frozen=True)
class RunDir:
    """Paths of a run dir. ``RunDir.open`` checks that it is one; the constructor does not."""

    path: Path

    @classmethod
    def open(cls, path: Path | str) -> RunDir:
        run = cls(Path(path))
        if not run.path.exists():
            raise FakeNewsError(
                f"expected a run dir at {run.path}, found nothing there; create one with `fakenews train`."
            )
        if not run.path.is_dir():
            raise FakeNewsError(
                f"expected a run dir (a folder written by `fakenews train`) at {run.path}, found a file."
            )
        for needed in (CONFIG, DATA_MANIFEST, MODEL):
            if not (run.path / needed).exists():
                raise FakeNewsError(
                    f"{run.path} is not a complete run dir: {needed} is missing; "
                    "re-run `fakenews train` (with --resume if it was interrupted)."
                )
        return run

    # -- written by train
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def data_manifest(self) -> Path:
        return self.path / DATA_MANIFEST

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def train_summary(self) -> Path:
        return self.path / "train_summary.json"

    # -- written by evaluate / benchmark / export
    def metrics(self, key: str) -> Path:
        return self.path / "metrics" / f"{key}.json"

    def predictions(self, key: str) -> Path:
        return self.path / "predictions" / f"{key}.csv"

    def errors(self, key: str, suffix: str = ".md") -> Path:
        return self.path / "errors" / f"{key}{suffix}"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def efficiency(self) -> Path:
        return self.path / "efficiency.json"

    @property
    def model_card_json(self) -> Path:
        return self.path / "model_card.json"

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def onnx(self) -> Path:
        return self.path / "onnx"

    def read_config(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FakeNewsError(
                f"{self.config} is not valid YAML ({exc}); re-run `fakenews train`."
            ) from None
        if not isinstance(data, dict):
            raise FakeNewsError(
                f"{self.config} should hold a mapping, found {type(data).__name__}; re-run `fakenews train`."
            )
        return data

    def read_data_manifest(self) -> dict[str, Any]:
        from fakenews.io import read_json

        return dict(read_json(self.data_manifest, what="run data manifest"))

    @property
    def data_fingerprint(self) -> str:
        return str(self.read_data_manifest().get("fingerprint", ""))
