"""Integrated Gradients (Sundararajan et al. 2017) for a transformer run, with captum.

The attributed function is the model's log-odds of fake, ``logit_fake - logit_real``, for the
text as the model reads it (the run's ``data.max_length`` and truncation, through the same
token selection as :func:`fakenews.models.encoding.encode`). The path runs from a baseline
input, the same ids with every content token replaced by the pad token (the special tokens
kept), to the text, over the output of the input-embedding layer
(:class:`captum.attr.LayerIntegratedGradients`); token scores are summed over the embedding
dimension and then into words with the fast tokenizer's offset mapping. Completeness: the
scores sum to ``f(text) - f(baseline)`` up to the Gauss-Legendre quadrature error with
``steps`` points, reported as ``gap``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from captum.attr import LayerIntegratedGradients

from fakenews.errors import FakeNewsError
from fakenews.models.encoding import head_tail_sizes
from fakenews.predictors.attribution import Attribution, Reading, to_words
from fakenews.predictors.base import Windowing

DEFAULT_STEPS = 32
"""Integration points per text (Gauss-Legendre); completeness gaps stay small at 32."""


class IntegratedGradientsAttributor:
    """Integrated Gradients of a sequence classifier's log-odds of fake, per word.

    Args:
        model: a ``save_pretrained`` sequence classifier (two labels, 1 = fake), in eval mode.
        tokenizer: its fast tokenizer (offsets are needed to map sub-words to words).
        windowing: the run's ``max_length`` and ``truncation``.
        device: where the passes run.
        steps: integration points per text (default :data:`DEFAULT_STEPS`).
        batch_size: integration points per forward/backward pass (default ``steps``).
    """

    method = "integrated-gradients"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        windowing: Windowing,
        *,
        device: str = "cpu",
        steps: int = DEFAULT_STEPS,
        batch_size: int | None = None,
    ) -> None:
        if steps < 1:
            raise FakeNewsError(f"--steps must be at least 1; found {steps}.")
        if not getattr(tokenizer, "is_fast", False):
            raise FakeNewsError(
                f"explanations need a fast tokenizer (for character offsets); {type(tokenizer).__name__} "
                "is not one: re-save the run's tokenizer with `tokenizers` installed."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.windowing = windowing
        self.device = device
        self.steps = steps
        self.batch_size = batch_size or steps
        self.input_names = list(tokenizer.model_input_names)
        pad = tokenizer.pad_token_id
        self._reference_id = int(pad) if pad is not None else 0
        self._ig = LayerIntegratedGradients(self._log_odds, model.get_input_embeddings())

    def _log_odds(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = torch.zeros_like(input_ids)
        logits = self.model(**feed).logits.float()
        return logits[:, 1] - logits[:, 0]

    def attribute(self, texts: Sequence[str]) -> list[Attribution]:
        return [self._one(str(t)) for t in texts]

    def _one(self, text: str) -> Attribution:
        ids, offsets, reading = self.read(text)
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        special = torch.tensor([o is None for o in offsets], device=self.device)
        reference = torch.where(special, input_ids, torch.full_like(input_ids, self._reference_id))
        mask = torch.ones_like(input_ids)
        with torch.no_grad():
            output = float(self._log_odds(input_ids, mask)[0])
            base = float(self._log_odds(reference, mask)[0])
        scores = self._ig.attribute(
            inputs=input_ids,
            baselines=reference,
            additional_forward_args=(mask,),
            n_steps=self.steps,
            internal_batch_size=self.batch_size,
        )
        per_token = scores.sum(dim=-1)[0].detach().float().cpu().tolist()
        pieces = [(o[0], o[1], s) for o, s in zip(offsets, per_token, strict=True) if o is not None]
        words = to_words(text, pieces, within=reading.spans)
        gap = output - base - sum(w.score for w in words)
        return Attribution(tuple(words), reading, self.method, output, base, gap)

    def read(self, text: str) -> tuple[list[int], list[tuple[int, int] | None], Reading]:
        """The ids the model reads (special tokens included), each content token's character
        offsets (``None`` for special tokens) and what of the text that is."""
        full = self.tokenizer(
            text,
            truncation=False,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
            verbose=False,
        )
        ids, mask = list(full["input_ids"]), list(full["special_tokens_mask"])
        offsets = [
            None if m else (int(o[0]), int(o[1]))
            for o, m in zip(full["offset_mapping"], mask, strict=True)
        ]
        content = [i for i, m in enumerate(mask) if not m]
        keep = self._kept(content, len(ids) - len(content))
        kept = set(keep)
        positions = [i for i in range(len(ids)) if mask[i] or i in kept]
        reading = Reading(
            "tokens",
            len(keep),
            len(content),
            _spans(content, keep, offsets, len(text)),
            self.windowing.truncation if len(keep) < len(content) else "none",
        )
        return [ids[i] for i in positions], [offsets[i] for i in positions], reading

    def _kept(self, content: list[int], n_special: int) -> list[int]:
        """Content positions kept by the run's truncation (``encode``'s selection)."""
        room = self.windowing.max_length - n_special
        if len(content) <= room:
            return content
        if self.windowing.truncation == "head_tail":
            head, tail = head_tail_sizes(room)
            return content[:head] + content[len(content) - tail :]
        return content[:room]


def _spans(
    content: list[int],
    keep: list[int],
    offsets: Sequence[tuple[int, int] | None],
    length: int,
) -> tuple[tuple[int, int], ...]:
    """Character ranges the kept tokens cover: the whole text when nothing was cut, else one
    range per run of consecutive kept tokens (the head, and the tail under ``head_tail``)."""
    if len(keep) == len(content):
        return ((0, length),)
    rank = {pos: r for r, pos in enumerate(content)}
    runs: list[list[int]] = []
    for pos in keep:
        if runs and rank[pos] == rank[runs[-1][-1]] + 1:
            runs[-1].append(pos)
        else:
            runs.append([pos])
    spans = []
    for run in runs:
        first, last = offsets[run[0]], offsets[run[-1]]
        assert first is not None and last is not None  # content tokens have offsets
        start = 0 if rank[run[0]] == 0 else first[0]
        end = length if rank[run[-1]] == len(content) - 1 else last[1]
        spans.append((start, end))
    return tuple(spans)
