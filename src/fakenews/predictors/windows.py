"""The encoding every transformer predictor shares, by composition: tokenize -> windows ->
length-sorted padded batches -> one forward pass each -> probabilities averaged per article.

Articles longer than ``max_length`` tokens are cut with the run's truncation strategy by the
same :func:`fakenews.models.encoding.encode` that training used (``head``: the first tokens;
``head_tail``: 128 : 382 of the start and the end, after Sun et al. 2019), or with
``long="chunks"`` read whole as overlapping windows whose probabilities are averaged. Texts
are sorted by token length so that each batch is padded only to its own longest member
(dynamic padding), right-padded (what a fused ONNX ``Attention`` expects), and input order is
restored at the end. Only the forward pass differs between backends: a :class:`Forward`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from fakenews.errors import FakeNewsError
from fakenews.metrics import softmax
from fakenews.models.encoding import encode
from fakenews.predictors.base import Windowing, check_temperature, check_texts
from fakenews.progress import track
from fakenews.rundir import RunKind


class Forward(Protocol):
    """One backend's forward pass and the facts about its weights."""

    device: str

    def __call__(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Logits ``(batch, 2)`` for int64 ``input_ids`` / ``attention_mask`` (/ ``token_type_ids``)."""
        ...

    def parameter_counts(self) -> tuple[int, int]: ...

    def memory_bytes(self) -> int: ...

    def describe(self) -> str:
        """The backend part of the inference path name, e.g. ``torch-fp32``."""
        ...


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after a single text."""
    enc = tokenizer("x", return_special_tokens_mask=True)
    ids, mask = list(enc["input_ids"]), list(enc["special_tokens_mask"])
    n_pre = next((i for i, m in enumerate(mask) if not m), len(mask))
    n_post = next((i for i, m in enumerate(reversed(mask)) if not m), 0)
    return ids[:n_pre], ids[len(ids) - n_post :]


class TokenWindows:
    """Texts -> windows of token ids (special tokens included) -> padded numpy batches.

    Args:
        tokenizer: the run's tokenizer.
        windowing: max length, truncation and long-article mode.
        input_names: the model's input names (``token_type_ids`` is fed only when listed).
    """

    def __init__(self, tokenizer: Any, windowing: Windowing, input_names: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.windowing = windowing
        self.input_names = list(input_names)
        self._prefix, self._suffix = special_tokens(tokenizer)
        pad = tokenizer.pad_token_id
        self._pad_id = int(pad) if pad is not None else 0
        self._room = windowing.max_length - len(self._prefix) - len(self._suffix)
        if self._room < 1:
            raise FakeNewsError(
                f"data.max_length {windowing.max_length} leaves no room for text after "
                f"{len(self._prefix) + len(self._suffix)} special tokens; raise it."
            )

    def encode(self, texts: Sequence[str]) -> list[list[list[int]]]:
        """Token ids per text, as a list of windows, each with the model's special tokens."""
        texts = check_texts(texts)
        if not texts:
            return []
        w = self.windowing
        if w.long == "truncate":
            # The very function training used, so the model sees what it saw in training.
            ids = encode(self.tokenizer, texts, max_length=w.max_length, truncation=w.truncation)
            return [[list(row)] for row in ids["input_ids"]]
        content = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)
        return [
            [self._prefix + c + self._suffix for c in w.chunks(list(ids), self._room)]
            for ids in content["input_ids"]
        ]

    def pad(self, batch: list[list[int]]) -> dict[str, np.ndarray]:
        """Right-padded int64 ``input_ids``, ``attention_mask`` (and ``token_type_ids``)."""
        width = max(len(w) for w in batch)
        ids = np.full((len(batch), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, w in enumerate(batch):
            ids[row, : len(w)] = w
            mask[row, : len(w)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        return feed

    def predict_proba(
        self,
        texts: Sequence[str],
        forward: Forward,
        *,
        batch_size: int,
        quiet: bool,
        temperature: float = 1.0,
    ) -> np.ndarray:
        """``(n, 2)`` float64 ``[P(real), P(fake)]`` in input order, windows averaged; each
        window's logits are divided by ``temperature`` before the softmax."""
        logits, owner, n = self._window_logits(texts, forward, batch_size=batch_size, quiet=quiet)
        if n == 0:
            return np.zeros((0, 2), dtype=np.float64)
        out = np.zeros((n, 2), dtype=np.float64)
        np.add.at(out, owner, softmax(logits / temperature))  # mean over each article's windows
        out /= np.bincount(owner, minlength=n)[:, None]
        return out

    def logits(
        self, texts: Sequence[str], forward: Forward, *, batch_size: int, quiet: bool
    ) -> np.ndarray:
        """``(n,)`` logit of fake (``z_fake - z_real``), averaged over an article's windows."""
        logits, owner, n = self._window_logits(texts, forward, batch_size=batch_size, quiet=quiet)
        out = np.zeros(n, dtype=np.float64)
        np.add.at(out, owner, logits[:, 1] - logits[:, 0])
        return out / np.maximum(np.bincount(owner, minlength=n), 1)

    def _window_logits(
        self, texts: Sequence[str], forward: Forward, *, batch_size: int, quiet: bool
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Logits ``(windows, 2)``, the article of each window and the number of articles."""
        encoded = self.encode(texts)
        flat = [w for windows in encoded for w in windows]
        owner = np.repeat(np.arange(len(encoded)), [len(ws) for ws in encoded])
        if not flat:
            return np.zeros((0, 2), dtype=np.float64), owner, len(encoded)
        return (
            self._forward_sorted(flat, forward, batch_size=batch_size, quiet=quiet),
            owner,
            len(encoded),
        )

    def _forward_sorted(
        self, windows: list[list[int]], forward: Forward, *, batch_size: int, quiet: bool
    ) -> np.ndarray:
        # Longest first: a batch that does not fit in memory fails at once, not at the end.
        order = np.argsort([-len(w) for w in windows], kind="stable")
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        logits = np.zeros((len(windows), 2), dtype=np.float64)
        for idx in track(batches, total=len(batches), description="predicting", quiet=quiet):
            logits[idx] = forward(self.pad([windows[i] for i in idx]))
        return logits


class WindowedPredictor:
    """A :class:`~fakenews.predictors.base.Predictor` from :class:`TokenWindows` and a
    :class:`Forward`; :class:`~fakenews.predictors.transformer.TransformerPredictor` and
    :class:`~fakenews.predictors.onnx.OnnxPredictor` only build the two."""

    kind: RunKind = "transformer"

    def __init__(
        self,
        windows: TokenWindows,
        forward: Forward,
        *,
        batch_size: int,
        quiet: bool = True,
        temperature: float = 1.0,
    ) -> None:
        self.temperature = check_temperature(temperature)
        if batch_size < 1:
            raise FakeNewsError(f"--batch-size must be at least 1; found {batch_size}.")
        self.windows = windows
        self.forward = forward
        self.batch_size = batch_size
        self.device = forward.device
        self.quiet = quiet

    @property
    def tokenizer(self) -> Any:
        return self.windows.tokenizer

    @property
    def windowing(self) -> Windowing:
        return self.windows.windowing

    def encode(self, texts: Sequence[str]) -> list[list[list[int]]]:
        return self.windows.encode(texts)

    def predict_proba(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """``(n, 2)`` float64 ``[P(real), P(fake)]`` in input order, at :attr:`temperature`."""
        size = batch_size or self.batch_size
        return self.windows.predict_proba(
            texts, self.forward, batch_size=size, quiet=self.quiet, temperature=self.temperature
        )

    def logits(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """``(n,)`` logit of fake before calibration (windows averaged under ``long="chunks"``)."""
        size = batch_size or self.batch_size
        return self.windows.logits(texts, self.forward, batch_size=size, quiet=self.quiet)

    def token_counts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens fed to the model per text (all windows together, special tokens included)."""
        return np.array([sum(len(w) for w in windows) for windows in self.encode(texts)], dtype=int)

    def window_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(w) for windows in self.encode(texts) for w in windows]

    def parameter_counts(self) -> tuple[int, int]:
        return self.forward.parameter_counts()

    def memory_bytes(self) -> int:
        return self.forward.memory_bytes()

    def describe(self) -> str:
        w = self.windowing
        mode = "chunks" if w.long == "chunks" else w.truncation
        return f"{self.forward.describe()}-dynamic-padding-{mode}-{self.device.split(':')[0]}"
