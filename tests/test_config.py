"""Config: layering, YAML round trip, --set overrides and their one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fakenews.config import RunConfig, load_config, parse_override, resolve_config, valid_keys
from fakenews.errors import FakeNewsError
from fakenews.models.presets import PRESETS


def test_defaults_and_yaml_round_trip(tmp_path: Path) -> None:
    config = resolve_config(
        "minilm-l6", overrides=["train.learning_rate=3e-5", "baseline.c_grid=[1, 10]", "seed=7"]
    )
    assert (
        config.train.learning_rate == 3e-5
        and config.baseline.c_grid == (1.0, 10.0)
        and config.seed == 7
    )
    path = tmp_path / "config.yaml"
    path.write_text(config.to_yaml())
    data = yaml.safe_load(path.read_text())
    assert list(data) == [
        "model",
        "data",
        "train",
        "baseline",
        "calibrate",
        "decision",
        "distill",
        "seed",
    ]
    assert data["model"]["name"] == "minilm-l6" and data["model"]["kind"] == "transformer"
    assert data["data"]["max_length"] == 512 and data["data"]["truncation"] == "head"
    assert load_config(path) == config


def test_layers_recipe_then_file_then_set(tmp_path: Path) -> None:
    recipe = PRESETS["albert-base-v2"].recipe()
    user = tmp_path / "user.yaml"
    user.write_text("train:\n  epochs: 2\n  learning_rate: 1.0e-5\n")
    config = resolve_config(
        "albert-base-v2", recipe=recipe, config_path=user, overrides=["train.epochs=1"]
    )
    assert config.train.learning_rate == 1e-5  # file over recipe
    assert config.train.epochs == 1.0  # --set over file
    assert (
        config.train.gradient_accumulation == 2 and config.train.warmup_steps == 1000
    )  # recipe over defaults
    assert config.data.max_length == 512 and config.seed == 42


def test_every_preset_recipe_is_a_valid_config() -> None:
    for name, preset in PRESETS.items():
        config = resolve_config(name, recipe=preset.recipe())
        assert config.model.kind == preset.kind, name


def test_study_recipe_is_exact() -> None:
    t = resolve_config("albert-base-v2", recipe=PRESETS["albert-base-v2"].recipe()).train
    assert (t.learning_rate, t.batch_size, t.gradient_accumulation, t.epochs) == (2e-5, 16, 2, 5.0)
    assert (t.warmup_steps, t.warmup_ratio, t.weight_decay, t.max_grad_norm) == (
        1000,
        0.1,
        0.01,
        1.0,
    )
    assert (t.early_stopping_patience, t.early_stopping_threshold, t.metric) == (3, 0.001, "f1")


def test_baseline_kind_follows_the_name() -> None:
    assert resolve_config("tfidf-logreg").model.kind == "baseline"
    assert resolve_config("scratch:bert").model.kind == "transformer"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "train.learnig_rate=1e-4",
            "--set train.learnig_rate: unknown config key 'train.learnig_rate'; did you mean 'train.learning_rate'?",
        ),
        (
            "training.epochs=3",
            "--set training.epochs: unknown config key 'training.epochs'; did you mean 'train.epochs'?",
        ),
        ("epochs", "--set expects key=value (e.g. --set train.epochs=3); found 'epochs'."),
    ],
)
def test_bad_override_keys(item: str, message: str) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        parse_override(item)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.epochs=abc", "--set: train.epochs expects a number; found 'abc' (str)."),
        ("train.batch_size=1.5", "--set: train.batch_size expects an integer; found 1.5 (float)."),
        (
            "train.early_stopping_patience=soon",
            "--set: train.early_stopping_patience expects an integer or null; found 'soon' (str).",
        ),
        (
            "data.group_by_length=3",
            "--set: data.group_by_length expects true or false; found 3 (int).",
        ),
        (
            "data.truncation=tail",
            "--set: data.truncation must be one of head, head_tail; found 'tail'.",
        ),
        ("train.learning_rate=-1", "train.learning_rate must be > 0; found -1.0."),
        ("train.warmup_ratio=1.5", "train.warmup_ratio must be in [0, 1); found 1.5."),
        ("data.max_length=4", "data.max_length must be an integer from 8 to 8192; found 4."),
        ("model.size=huge", "--set: model.size must be one of tiny, small, base; found 'huge'."),
    ],
)
def test_bad_override_values(item: str, message: str) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        resolve_config("minilm-l6", overrides=[item])


def test_bad_config_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epocs: 3\n")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"config file {bad}: unknown config key 'train.epocs'; did you mean 'train.epochs'?"
        ),
    ):
        resolve_config("minilm-l6", config_path=bad)
    bad.write_text("- a list\n")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"config file {bad} must hold a mapping (model:, data:, train:, ...), found a list."
        ),
    ):
        resolve_config("minilm-l6", config_path=bad)
    bad.write_text("train: [unclosed\n")
    with pytest.raises(FakeNewsError, match=re.escape(f"config file {bad} is not valid YAML")):
        resolve_config("minilm-l6", config_path=bad)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"expected a YAML config file at {tmp_path / 'none.yaml'}, found nothing; check --config."
        ),
    ):
        resolve_config("minilm-l6", config_path=tmp_path / "none.yaml")


def test_diff_names_changed_keys() -> None:
    a = RunConfig()
    b = a.with_overrides({"train.epochs": 9, "seed": 1})
    assert a.diff(b) == ["train.epochs", "seed"]
    assert "train.learning_rate" in valid_keys() and "seed" in valid_keys()
