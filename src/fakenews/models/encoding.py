"""Text -> token ids, with the two truncation strategies every stage must apply alike.

``head`` keeps the first ``max_length`` tokens (special tokens included). ``head_tail`` keeps the
first and the last body tokens of a long article in the ratio 128 : 382 (Sun et al. 2019, "How to
Fine-Tune BERT for Text Classification?": head 128 + tail 382 of 510 beat head-only on IMDb),
scaled to ``max_length``. Training and inference both call :func:`encode`, so a model sees at
prediction time exactly what it saw in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fakenews.config import Truncation
from fakenews.errors import FakeNewsError

HEAD_TAIL_RATIO = 128 / 510
"""Share of the body budget kept from the article's start under ``head_tail`` (128 of 510 tokens)."""


def head_tail_sizes(budget: int) -> tuple[int, int]:
    """Split a body budget (``max_length`` minus special tokens) into (head, tail) token counts."""
    head = round(budget * HEAD_TAIL_RATIO)
    return head, budget - head


def encode(
    tokenizer: Any, texts: Sequence[str], *, max_length: int, truncation: Truncation = "head"
) -> dict[str, list[list[int]]]:
    """Token ids (and attention mask, token type ids when the tokenizer makes them), unpadded.

    Every row has at most ``max_length`` ids, special tokens included.
    """
    texts = [str(t) for t in texts]
    if truncation == "head":
        return dict(tokenizer(texts, truncation=True, max_length=max_length, padding=False))
    if truncation != "head_tail":
        raise FakeNewsError(f"data.truncation must be head or head_tail; found {truncation!r}.")
    full = tokenizer(
        texts, truncation=False, padding=False, return_special_tokens_mask=True, verbose=False
    )
    keys = [k for k in full if k != "special_tokens_mask"]
    out: dict[str, list[list[int]]] = {k: [] for k in keys}
    for i, mask in enumerate(full["special_tokens_mask"]):
        keep = _head_tail_positions(mask, max_length)
        for k in keys:
            row = full[k][i]
            out[k].append(row if keep is None else [row[j] for j in keep])
    return out


def _head_tail_positions(special_mask: Sequence[int], max_length: int) -> list[int] | None:
    """Positions to keep (leading specials, body head, body tail, trailing specials); None = all."""
    n = len(special_mask)
    if n <= max_length:
        return None
    start = 0
    while start < n and special_mask[start]:
        start += 1
    end = n
    while end > start and special_mask[end - 1]:
        end -= 1
    budget = max_length - start - (n - end)
    if budget <= 0:
        return list(range(max_length))
    head, tail = head_tail_sizes(budget)
    body = list(range(start, start + head)) + list(range(end - tail, end))
    return list(range(start)) + body + list(range(end, n))
