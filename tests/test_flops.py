"""FLOP formula of fakenews.flops against hand arithmetic and torch's own FLOP counter."""

from __future__ import annotations

import pytest

from fakenews.flops import encoder_dims, forward_flops, gpu_peak_flops, mfu, training_flops

MINILM = {
    "model_type": "bert",
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "intermediate_size": 1536,
}


def test_minilm_at_512_tokens_by_hand() -> None:
    h, i, n, L = 384, 1536, 6, 512
    expected = n * (2 * L * (4 * h * h + 2 * h * i) + 4 * L * L * h) + 2 * h * h + 4 * h
    assert forward_flops(MINILM, [L]) == expected == 13_287_851_520
    assert forward_flops(MINILM, [L, L]) == 2 * expected
    assert training_flops(MINILM, [L]) == 3 * expected


def test_albert_counts_the_shared_layer_per_use_and_the_embedding_projection() -> None:
    albert = {
        "model_type": "albert",
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "intermediate_size": 3072,
        "embedding_size": 128,
        "num_hidden_groups": 1,
    }
    bert = {**albert, "model_type": "bert", "embedding_size": None}
    assert forward_flops(albert, [100]) - forward_flops(bert, [100]) == 2 * 100 * 128 * 768


def test_distilbert_keys_and_unknown_architectures() -> None:
    distil = {"model_type": "distilbert", "dim": 768, "n_layers": 6, "hidden_dim": 3072}
    assert encoder_dims(distil) == {
        "layers": 6,
        "hidden": 768,
        "intermediate": 3072,
        "embedding": 768,
    }
    assert forward_flops({"model_type": "mobilebert", "hidden_size": 512}, [10]) is None
    assert training_flops({"model_type": "mobilebert"}, [10]) is None


@pytest.mark.parametrize("arch", ["bert", "albert"])
def test_formula_matches_torch_flop_counter(arch: str) -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AlbertConfig, AutoModelForSequenceClassification, BertConfig

    kwargs = dict(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=2,
    )
    config = AlbertConfig(embedding_size=16, **kwargs) if arch == "albert" else BertConfig(**kwargs)
    model = AutoModelForSequenceClassification.from_config(
        config, attn_implementation="eager"
    ).eval()  # explicit matmuls
    ids = torch.randint(5, 100, (3, 24))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert forward_flops(config.to_dict(), [24, 24, 24]) == pytest.approx(
        counter.get_total_flops(), rel=1e-6
    )


def test_mfu_only_on_known_gpus() -> None:
    assert gpu_peak_flops("NVIDIA H200") == 989.4e12
    assert gpu_peak_flops("NVIDIA H100 PCIe") == 756.0e12
    assert gpu_peak_flops("NVIDIA A100-SXM4-80GB") == 312.0e12
    assert mfu(494.7e12, "cuda:0", "NVIDIA H200") == pytest.approx(0.5)
    assert mfu(1e12, "cpu", "AMD EPYC") is None
    assert mfu(1e12, "cuda", "Some Future GPU") is None
    assert mfu(None, "cuda", "NVIDIA H200") is None
