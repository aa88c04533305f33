"""One implementation of "the same article": text normalisation, exact keys, MinHash near duplicates.

``prepare`` uses it to clean and to keep near-duplicate clusters inside one split; ``audit`` uses
it to count what two splits share. Both therefore agree on every figure.

- **Normalised text**: NFKC, casefolded, punctuation and symbols removed, whitespace runs folded
  to one space. ``"Don't  STOP!"`` and ``"dont stop"`` are the same text.
- **Exact duplicates**: two rows whose normalised ``combined_text`` is equal, or whose normalised
  ``text`` is equal and not empty (the same body under another headline is the same article).
- **Near duplicates**: two rows whose sets of word ``SHINGLE``-grams (of the normalised
  ``combined_text``) have a Jaccard similarity at least the threshold. MinHash LSH
  (``datasketch``) proposes the candidate pairs; each is checked with the exact Jaccard.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from fakenews.progress import track

SHINGLE = 3
"""Words per shingle: short enough for ~100-character statements, strict enough for articles."""
NUM_PERM = 128
"""MinHash permutations: the Jaccard estimate's standard error at 0.9 is about 0.027."""
MINHASH_SEED = 1
LSH_MARGIN = 0.15
"""The LSH index looks for candidates this far below the Jaccard threshold (recall first)."""
LSH_WEIGHTS = (0.2, 0.8)
"""datasketch's (false positive, false negative) weights when it picks bands and rows."""
_NOT_WORD = re.compile(r"[^\w\s]|_")
_MIX = np.uint32(0x9E3779B1)
"""Odd multiplier that chains token hashes into one 32-bit shingle hash."""


def normalize(text: str) -> str:
    """Casefold, drop punctuation and symbols, fold whitespace (the key of "the same text")."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NOT_WORD.sub("", text).split())


def text_hash(normalized: str) -> str:
    return hashlib.sha1(normalized.encode("utf-8")).hexdigest()


class UnionFind:
    """Connected components over row positions ``0..n-1``; the root is the smallest position."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo

    def groups(self) -> list[list[int]]:
        """Components with more than one member, each sorted, ordered by their first member."""
        members: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            members.setdefault(self.find(i), []).append(i)
        return sorted((g for g in members.values() if len(g) > 1), key=lambda g: g[0])


@dataclass(frozen=True)
class NormalizedRows:
    """Normalised title and text of each row; ``combined`` is the normalised ``combined_text``."""

    titles: tuple[str, ...]
    texts: tuple[str, ...]

    @property
    def combined(self) -> list[str]:
        # normalize(title + " " + text) == normalize(title) + " " + normalize(text), without re-work.
        return [f"{a} {b}".strip() for a, b in zip(self.titles, self.texts, strict=True)]

    def __len__(self) -> int:
        return len(self.texts)


def normalize_rows(titles: Sequence[str], texts: Sequence[str]) -> NormalizedRows:
    return NormalizedRows(
        tuple(normalize(str(t)) for t in titles), tuple(normalize(str(t)) for t in texts)
    )


def exact_groups(rows: NormalizedRows) -> list[list[int]]:
    """Row positions that are exact duplicates of each other (see the module docstring)."""
    uf = UnionFind(len(rows))
    first: dict[tuple[str, str], int] = {}
    for i, (norm_text, norm_combined) in enumerate(zip(rows.texts, rows.combined, strict=True)):
        keys = [("combined", text_hash(norm_combined))]
        if norm_text:
            keys.append(("text", text_hash(norm_text)))
        for key in keys:
            if key in first:
                uf.union(first[key], i)
            else:
                first[key] = i
    return uf.groups()


class _TokenHashes(dict[str, int]):
    """crc32 of each token, computed once per distinct token."""

    def __missing__(self, token: str) -> int:
        value = self[token] = zlib.crc32(token.encode("utf-8"))
        return value


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser on uint32: spreads structured hashes before the affine permutation."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _token_ids(words: list[str], tokens: _TokenHashes) -> np.ndarray:
    """Token hashes of one text; a text shorter than a shingle is padded with 0 (one shingle)."""
    ids = np.fromiter(map(tokens.__getitem__, words), dtype=np.uint32, count=len(words))
    if 0 < len(ids) < SHINGLE:
        ids = np.concatenate([ids, np.zeros(SHINGLE - len(ids), dtype=np.uint32)])
    return ids


def _chain(ids: np.ndarray) -> np.ndarray:
    """Hash of the shingle starting at every position of ``ids`` (the last SHINGLE-1 are partial)."""
    mixed = ids.copy()
    for k in range(1, SHINGLE):
        nxt = np.zeros_like(ids)
        nxt[: len(ids) - k] = ids[k:]
        mixed = _fmix32(mixed * _MIX + nxt)
    return _fmix32(mixed)


def shingle_hashes(normalized: str, tokens: _TokenHashes | None = None) -> np.ndarray:
    """Sorted distinct uint32 hashes of the word ``SHINGLE``-grams of an already normalised text."""
    ids = _token_ids(normalized.split(), tokens if tokens is not None else _TokenHashes())
    if not len(ids):
        return ids
    return np.unique(_chain(ids)[: len(ids) - SHINGLE + 1])


CHUNK_WORDS = 200_000
"""Words hashed per numpy batch in :func:`minhashes` (bounds memory to ~100 MB at 128 perms)."""


def minhashes(
    texts: Sequence[str], *, num_perm: int = NUM_PERM, quiet: bool = True
) -> list[MinHash]:
    """One MinHash per already normalised text, over the same shingles as :func:`shingle_hashes`.

    Same construction as ``MinHash.update_batch`` with the affine32 scheme (``a * h + b mod 2^32``
    per permutation, then the minimum), vectorised with numpy over batches of texts; the
    results are ``datasketch.MinHash`` objects made from those hash values.
    """
    template = MinHash(num_perm=num_perm, seed=MINHASH_SEED)
    a, b = template.permutations
    tokens = _TokenHashes()
    sketches: list[MinHash] = []

    def flush(batch: list[np.ndarray]) -> None:
        lengths = np.array([len(ids) for ids in batch])
        if not lengths.sum():
            values = np.tile(template.hashvalues, (len(batch), 1))
        else:
            ids = np.concatenate(batch)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            doc = np.repeat(np.arange(len(batch)), lengths)
            # keep the shingles that start and end inside their own text
            full = np.arange(len(ids)) + SHINGLE <= (starts + lengths)[doc]
            hashes, doc = _chain(ids)[full], doc[full]
            permuted = hashes[:, None] * a[None, :] + b[None, :]
            values = np.tile(template.hashvalues, (len(batch), 1))
            bounds = np.searchsorted(doc, np.arange(len(batch) + 1))
            for k in np.nonzero(lengths)[0]:  # a slice min per text: far faster than reduceat
                values[k] = permuted[bounds[k] : bounds[k + 1]].min(axis=0)
        for row in values:
            sketches.append(
                MinHash(
                    seed=MINHASH_SEED,
                    hashvalues=row,
                    permutations=template.permutations,
                    scheme="affine32",
                )
            )

    batch: list[np.ndarray] = []
    words = 0
    for text in track(texts, total=len(texts), description="MinHash", quiet=quiet):
        ids = _token_ids(text.split(), tokens)
        batch.append(ids)
        words += len(ids)
        if words >= CHUNK_WORDS:
            flush(batch)
            batch, words = [], 0
    if batch:
        flush(batch)
    return sketches


@dataclass(frozen=True)
class NearPair:
    """Two row positions ``a < b`` whose shingle sets have Jaccard similarity ``jaccard``."""

    a: int
    b: int
    jaccard: float


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted arrays of distinct shingle hashes."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def near_pairs(
    texts: Sequence[str],
    *,
    threshold: float,
    num_perm: int = NUM_PERM,
    sketches: Sequence[MinHash] | None = None,
    quiet: bool = True,
) -> list[NearPair]:
    """All pairs whose word-shingle Jaccard similarity is at least ``threshold``.

    ``texts`` are normalised texts (:attr:`NormalizedRows.combined`); empty ones pair with nothing.
    MinHash LSH proposes candidates, tuned for recall (an LSH threshold 0.15 below ``threshold``,
    false negatives weighted 0.8: with the defaults a pair at Jaccard 0.9 is proposed with
    probability 0.9999); each candidate is then checked with the exact Jaccard of its shingle sets.
    ``sketches`` (one per text, from :func:`minhashes`) saves hashing the texts again.
    """
    if threshold <= 0 or len(texts) < 2:
        return []
    if sketches is None:
        sketches = minhashes(texts, num_perm=num_perm, quiet=quiet)
    lsh = MinHashLSH(
        threshold=max(0.05, threshold - LSH_MARGIN), num_perm=num_perm, weights=LSH_WEIGHTS
    )
    tokens = _TokenHashes()
    shingles: dict[int, np.ndarray] = {}

    def shingles_of(i: int) -> np.ndarray:
        if i not in shingles:
            shingles[i] = shingle_hashes(texts[i], tokens)
        return shingles[i]

    pairs: list[NearPair] = []
    for i, sketch in enumerate(sketches):
        if not texts[i]:
            continue
        for j in sorted(lsh.query(sketch)):
            score = jaccard(shingles_of(j), shingles_of(i))
            if score >= threshold:
                pairs.append(NearPair(a=j, b=i, jaccard=round(score, 4)))
        lsh.insert(i, sketch, check_duplication=False)
        shingles.pop(i, None)  # keep memory flat: most rows never meet a candidate again
    return sorted(pairs, key=lambda p: (p.a, p.b))


def near_groups(n: int, pairs: Sequence[NearPair]) -> list[list[int]]:
    """Clusters (connected components) of near-duplicate pairs over ``n`` rows."""
    uf = UnionFind(n)
    for pair in pairs:
        uf.union(pair.a, pair.b)
    return uf.groups()
