"""Presets, model resolution, scratch builders, tokenizers, head_tail encoding and the baseline."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fakenews.config import ModelConfig
from fakenews.errors import FakeNewsError
from fakenews.models.baseline import TfidfLogReg
from fakenews.models.build import (
    SCRATCH_ARCHS,
    build_model_and_tokenizer,
    resolve_model,
    scratch_config,
    train_tokenizer,
)
from fakenews.models.encoding import encode, head_tail_sizes
from fakenews.models.presets import PRESETS, get_preset, minilm_path


@pytest.fixture(scope="module")
def train_texts(tiny_split_dir: Path) -> list[str]:
    return pd.read_csv(tiny_split_dir / "train.csv")["combined_text"].tolist()


def test_presets_resolve() -> None:
    assert set(PRESETS) == {
        "albert-base-v2", "distilbert-base-uncased", "mobilebert-uncased", "tinybert-4l",
        "bert-base-uncased", "minilm-l6", "mpnet-base", "tfidf-logreg",
    }  # fmt: skip
    minilm = resolve_model("minilm-l6")
    assert minilm.origin == "pretrained" and Path(minilm.location) == minilm_path()
    assert resolve_model("google/mobilebert-uncased").preset is PRESETS["mobilebert-uncased"]
    assert resolve_model("huawei-noah/TinyBERT_General_4L_312D").preset is PRESETS["tinybert-4l"]
    assert resolve_model("tfidf-logreg").origin == "baseline"
    assert resolve_model("scratch:albert").location == "albert"
    assert resolve_model("someone/some-model").location == "someone/some-model"


def test_run_dir_as_model(tiny_run_dir: Path) -> None:
    assert resolve_model(str(tiny_run_dir)).location == str(tiny_run_dir / "model")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "albert",
            "unknown model preset 'albert'; known presets: minilm-l6, albert-base-v2, distilbert-base-uncased, mobilebert-uncased, tinybert-4l, bert-base-uncased, mpnet-base, tfidf-logreg",
        ),
        (
            "scratch:gpt2",
            "unknown scratch architecture 'gpt2'; expected scratch:albert|bert|distilbert|mobilebert",
        ),
        ("./no/such/dir", "no model dir at ./no/such/dir; expected a folder with config.json"),
    ],
)
def test_bad_model_names(name: str, message: str) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        resolve_model(name)
    with pytest.raises(FakeNewsError):
        get_preset(name)


def test_hub_id_without_network_names_the_offline_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = resolve_model("albert-base-v2")
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "could not load 'albert/albert-base-v2' from the Hugging Face hub: the hub is switched off here (HF_HUB_OFFLINE=1) "
            "and it is not in the local cache; use --model minilm-l6 (shipped offline)"
        ),
    ):
        build_model_and_tokenizer(
            source, ModelConfig(name="albert-base-v2"), train_texts=[], max_length=128
        )


def test_scratch_base_sizes_match_the_real_architectures() -> None:
    import transformers

    albert = scratch_config("albert", "base", vocab_size=30000, pad_token_id=0)
    assert (
        albert.embedding_size,
        albert.hidden_size,
        albert.num_hidden_layers,
        albert.num_hidden_groups,
    ) == (128, 768, 12, 1)
    model = transformers.AutoModelForSequenceClassification.from_config(albert)
    assert (
        round(model.num_parameters() / 1e6, 2) == 11.69
    )  # albert-base-v2 + a 2-label head, as in the study
    assert model.config.id2label == {0: "real", 1: "fake"}


@pytest.mark.parametrize("arch", SCRATCH_ARCHS)
def test_scratch_tiny_models_save_and_reload(
    arch: str, train_texts: list[str], tmp_path: Path
) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, tok = build_model_and_tokenizer(
        resolve_model(f"scratch:{arch}"), ModelConfig(name=f"scratch:{arch}", size="tiny", vocab_size=2000),
        train_texts=train_texts, max_length=64,
    )  # fmt: skip
    cfg = model.config
    assert getattr(cfg, "hidden_size", getattr(cfg, "dim", None)) == 32
    assert len(tok) <= 2000 and tok.pad_token_id is not None
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    tok2 = AutoTokenizer.from_pretrained(tmp_path)
    assert (
        tok2("Fake news about the senator")["input_ids"]
        == tok("Fake news about the senator")["input_ids"]
    )
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert again.config.label2id == {"real": 0, "fake": 1}


def test_albert_tokenizer_is_unigram_bert_is_wordpiece(train_texts: list[str]) -> None:
    albert = train_tokenizer("albert", train_texts, vocab_size=1000)
    bert = train_tokenizer("bert", train_texts, vocab_size=1000)
    assert type(albert.backend_tokenizer.model).__name__ == "Unigram"
    assert type(bert.backend_tokenizer.model).__name__ == "WordPiece"
    assert albert.convert_ids_to_tokens(albert("hello")["input_ids"])[0] == "[CLS]"


def test_head_tail_keeps_start_and_end(train_texts: list[str]) -> None:
    tok = train_tokenizer("bert", train_texts, vocab_size=2000)
    assert head_tail_sizes(510) == (128, 382)
    text = "the senate " + "said the president " * 100 + "in a statement"
    ids = encode(tok, [text, "short text"], max_length=34, truncation="head_tail")["input_ids"]
    assert len(ids[0]) == 34 and ids[1] == tok("short text")["input_ids"]
    full = tok(text)["input_ids"]
    head, tail = head_tail_sizes(32)
    assert (
        ids[0] == full[: 1 + head] + full[-(tail + 1) :]
    )  # [CLS] + first head + last tail + [SEP]
    head_only = encode(tok, [text], max_length=34, truncation="head")["input_ids"][0]
    assert head_only == full[:33] + full[-1:]


def test_baseline_fit_predict_save_load(tiny_split_dir: Path, tmp_path: Path) -> None:
    frames = {s: pd.read_csv(tiny_split_dir / f"{s}.csv") for s in ("train", "validation", "test")}
    model = TfidfLogReg().fit(
        frames["train"]["combined_text"].tolist(), frames["train"]["label"].tolist(),
        frames["validation"]["combined_text"].tolist(), frames["validation"]["label"].tolist(),
    )  # fmt: skip
    assert model.C_ in (0.1, 1.0, 10.0, 100.0) and set(model.scores_) == {0.1, 1.0, 10.0, 100.0}
    texts = frames["test"]["combined_text"].tolist()
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 2) and proba.dtype == np.float64
    assert (model.predict(texts) == (proba[:, 1] >= 0.5)).all()
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "arrays.npz",
        "baseline.json",
        "vocabulary.json",
    ]
    np.testing.assert_array_equal(TfidfLogReg.load(tmp_path).predict_proba(texts), proba)
    assert TfidfLogReg.load(tmp_path).predict_proba([]).shape == (0, 2)


def test_baseline_errors(tmp_path: Path) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "training: every article is labelled fake; a classifier needs both real (0) and fake (1) articles."
        ),
    ):
        TfidfLogReg().fit(["a b", "c d"], [1, 1])
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "this TfidfLogReg is not fitted yet; call fit(texts, labels) or TfidfLogReg.load(model_dir) first."
        ),
    ):
        TfidfLogReg().predict_proba(["x"])
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"expected a tfidf-logreg model dir with baseline.json at {tmp_path}, found none"
        ),
    ):
        TfidfLogReg.load(tmp_path)
