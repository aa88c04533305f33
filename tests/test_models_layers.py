"""``model.keep_layers``: the bottom N encoder layers of a pretrained model, for every supported
architecture (tiny random-init models), saved and loaded back with transformers alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import transformers as tf

from fakenews.config import ModelConfig, resolve_config
from fakenews.errors import FakeNewsError
from fakenews.models.build import (
    KEEP_LAYERS_TYPES,
    build_model_and_tokenizer,
    keep_bottom_layers,
    resolve_model,
    train_tokenizer,
)

LAYERS = 4
VOCAB = 100
_COMMON = {"vocab_size": VOCAB, "num_labels": 2, "max_position_embeddings": 64, "pad_token_id": 1}
_BERTLIKE = {
    "hidden_size": 32,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


def tiny_config(model_type: str) -> Any:
    """A 4-layer, 32-wide config of ``model_type`` (2-label head)."""
    if model_type == "distilbert":
        return tf.DistilBertConfig(dim=32, n_layers=LAYERS, n_heads=2, hidden_dim=64, **_COMMON)
    if model_type == "albert":
        return tf.AlbertConfig(embedding_size=16, num_hidden_groups=2, **_BERTLIKE, **_COMMON)
    if model_type == "mobilebert":
        return tf.MobileBertConfig(
            embedding_size=16, true_hidden_size=16, intra_bottleneck_size=16, num_feedforward_networks=1,
            **_BERTLIKE, **_COMMON,
        )  # fmt: skip
    return tf.AutoConfig.for_model(model_type, **_BERTLIKE, **_COMMON)


def tiny_model(model_type: str) -> Any:
    torch.manual_seed(0)
    return tf.AutoModelForSequenceClassification.from_config(tiny_config(model_type)).eval()


def _hidden(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return model.base_model(
            input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True
        ).hidden_states


IDS = torch.tensor([[0, 5, 17, 42, 8, 99, 2], [0, 3, 3, 60, 71, 12, 2]])


def test_every_supported_architecture_is_tested() -> None:
    assert KEEP_LAYERS_TYPES == (
        "albert", "bert", "distilbert", "electra", "mobilebert", "mpnet", "roberta", "xlm-roberta",
    )  # fmt: skip


@pytest.mark.parametrize("model_type", KEEP_LAYERS_TYPES)
def test_the_kept_model_computes_what_the_bottom_layers_did(model_type: str) -> None:
    model = tiny_model(model_type)
    before = _hidden(model, IDS)
    keep_bottom_layers(model, 2)
    after = _hidden(model, IDS)
    assert model.config.num_hidden_layers == 2 and len(after) == 3  # embeddings + 2 layers
    torch.testing.assert_close(after[-1], before[2])


@pytest.mark.parametrize("model_type", KEEP_LAYERS_TYPES)
def test_the_saved_model_loads_back_as_an_n_layer_model(model_type: str, tmp_path: Path) -> None:
    model = keep_bottom_layers(tiny_model(model_type), 2)
    model.save_pretrained(tmp_path)
    again, info = tf.AutoModelForSequenceClassification.from_pretrained(
        tmp_path, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert again.config.num_hidden_layers == 2 and again.num_parameters() == model.num_parameters()
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(input_ids=IDS).logits, model(input_ids=IDS).logits)


@pytest.mark.parametrize("model_type", sorted(set(KEEP_LAYERS_TYPES) - {"albert"}))
def test_dropped_layers_take_their_parameters_with_them(model_type: str) -> None:
    two = tf.AutoModelForSequenceClassification.from_config(
        tiny_config(model_type).__class__(
            **{**tiny_config(model_type).to_dict(), "num_hidden_layers": 2}
        )
    )
    assert keep_bottom_layers(tiny_model(model_type), 2).num_parameters() == two.num_parameters()


def test_albert_keeps_its_shared_groups_in_place() -> None:
    model = tiny_model("albert")  # 4 layers over 2 shared groups: groups 0, 0, 1, 1
    full = model.num_parameters()
    assert keep_bottom_layers(model, 3).num_parameters() == full  # still uses both groups
    assert (model.config.num_hidden_layers, model.config.num_hidden_groups) == (3, 2)
    one_group = keep_bottom_layers(tiny_model("albert"), 2)
    assert one_group.config.num_hidden_groups == 1 and one_group.num_parameters() < full


def test_albert_refuses_a_count_that_would_shift_its_groups() -> None:
    config = tiny_config("albert")
    # 6 layers use groups 0, 0, 0, 1, 1, 1; 4 kept layers over 2 groups would use 0, 0, 1, 1.
    config.num_hidden_layers = 6
    model = tf.AutoModelForSequenceClassification.from_config(config)
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "model.keep_layers=4 would shift this ALBERT's 2 shared layer groups over its 6 layers; choose one of 1, 2, 3, 5, 6."
        ),
    ):
        keep_bottom_layers(model, 4)


@pytest.mark.parametrize("n", [0, 5])
def test_a_count_outside_the_model_is_refused(n: int) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            f"model.keep_layers={n} is out of range: this bert model has 4 encoder layers; choose 1..4."
        ),
    ):
        keep_bottom_layers(tiny_model("bert"), n)


def test_an_unsupported_architecture_is_refused_in_one_line() -> None:
    gpt2 = tf.GPT2ForSequenceClassification(
        tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=VOCAB, pad_token_id=0)
    )
    with pytest.raises(
        FakeNewsError,
        match=re.escape(
            "model.keep_layers supports albert, bert, distilbert, electra, mobilebert, mpnet, roberta, xlm-roberta encoders, "
            "not 'gpt2'; drop --set model.keep_layers for this model."
        ),
    ):
        keep_bottom_layers(gpt2, 1)


def test_build_applies_keep_layers_from_the_config(tmp_path: Path, tiny_split_dir: Path) -> None:
    texts = pd.read_csv(tiny_split_dir / "train.csv")["combined_text"].tolist()
    tokenizer = train_tokenizer("bert", texts, vocab_size=VOCAB)
    model = tf.BertForMaskedLM(
        tf.BertConfig(**{**_BERTLIKE, **_COMMON, "vocab_size": len(tokenizer)})
    )
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    built, _ = build_model_and_tokenizer(
        resolve_model(str(tmp_path)), ModelConfig(name=str(tmp_path), keep_layers=3), train_texts=[], max_length=32
    )  # fmt: skip
    assert len(built.bert.encoder.layer) == 3 and built.config.num_hidden_layers == 3
    assert built.config.id2label == {0: "real", 1: "fake"}


def test_keep_layers_is_an_ordinary_config_key() -> None:
    config = resolve_config("minilm-l6", overrides=["model.keep_layers=3"])
    assert config.model.keep_layers == 3
    assert resolve_config("minilm-l6").model.keep_layers is None


@pytest.mark.parametrize(
    ("model", "value", "message"),
    [
        ("minilm-l6", 0, "model.keep_layers must be a number of encoder layers >= 1 (or null to keep all); found 0."),
        ("minilm-l6", True, "--set: model.keep_layers expects an integer or null; found True (bool)."),
        ("tfidf-logreg", 2, "model.keep_layers applies to pretrained encoders, but 'tfidf-logreg' is a baseline; drop model.keep_layers."),
        (
            "scratch:bert", 2,
            "model.keep_layers applies to pretrained encoders, but 'scratch:bert' is built from scratch at model.size; drop model.keep_layers.",
        ),
    ],
)  # fmt: skip
def test_bad_keep_layers_are_refused_when_the_config_is_read(
    model: str, value: object, message: str
) -> None:
    with pytest.raises(FakeNewsError, match=re.escape(message)):
        resolve_config(model, overrides={"model.keep_layers": value})
