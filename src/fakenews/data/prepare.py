"""``prepare``: raw data → a leakage-free split dir (``train/validation/test.csv`` + ``manifest.json``).

Steps, each counted in the manifest with the ids it removed:

1. **read** every input into the canonical table (:mod:`fakenews.data.sources`); with several
   inputs, each row's input name goes in a ``dataset`` column (``NAME=PATH`` names an input,
   else its file or folder name without suffix) and every row keeps its ``source``;
2. **strip_markers** (with ``strip_markers`` or ``strip_patterns``): source markers taken out of
   title and text (:mod:`fakenews.data.markers`), the articles changed counted per pattern;
   **empty**: drop rows whose title and text are both empty; with ``min_text_chars`` also
   **short_text**: rows whose text (not counting the title) is shorter, such as dead pages
   whose title is the site's boilerplate;
3. ``combined_text = title + " " + text`` (the model input);
4. **exact_duplicate**: keep the first row of each group of exact duplicates
   (:mod:`fakenews.data.dedup`); groups whose labels disagree are dropped whole and listed;
5. **near_duplicate**: MinHash LSH clusters (Jaccard ≥ 0.9 by default) stay inside one split, or
   with ``drop_near_duplicates`` only their first row is kept (a cluster whose labels disagree is
   dropped whole);
6. **split**: stratified by label (70/15/15, seed 42 by default; any ratios, zeros allowed), with
   ``group_by`` no value of that column in two splits; inputs that come split (a split dir, LIAR's
   folder) keep their split unless ``split`` is given;
7. the manifest, with the fingerprint, the leakage figures of :func:`fakenews.data.audit.leakage`
   and the shortcut audit of :func:`fakenews.data.shortcuts.find_shortcuts` (run on the split
   files as written, after stripping: what is left for a model to exploit).

Same inputs and options ⇒ byte-identical files.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fakenews import __version__
from fakenews.data.audit import Leakage, counts_of, leakage
from fakenews.data.dedup import (
    NUM_PERM,
    SHINGLE,
    NearPair,
    NormalizedRows,
    UnionFind,
    exact_groups,
    minhashes,
    near_groups,
    near_pairs,
    normalize_rows,
)
from fakenews.data.markers import MarkerPattern, marker_patterns, strip_markers
from fakenews.data.shortcuts import ShortcutAudit, ShortcutOptions, find_shortcuts
from fakenews.data.sources import SPLIT_COLUMN, ReadOptions, Source, read_input
from fakenews.errors import FakeNewsError
from fakenews.io import atomic_dir, check_output_dir, write_csv, write_json
from fakenews.splits import COLUMNS, MANIFEST, SPLITS, combine, fingerprint

logger = logging.getLogger(__name__)

DEFAULT_RATIOS: tuple[float, float, float] = (0.7, 0.15, 0.15)
DATASET_COLUMN = "dataset"
"""Column naming each row's input, written (after :data:`~fakenews.splits.COLUMNS`) when several
inputs are pooled."""
INPUT_NAME = re.compile(r"([A-Za-z0-9][\w.-]*)=(.+)")
"""``NAME=PATH``: an input named for the ``dataset`` column."""


def parse_split(value: str) -> tuple[float, float, float]:
    """``"0.7,0.15,0.15"`` → ``(0.7, 0.15, 0.15)``; three ratios ≥ 0 that sum to 1."""
    parts = [p.strip() for p in str(value).split(",")]
    try:
        ratios = tuple(float(p) for p in parts)
    except ValueError:
        raise FakeNewsError(
            f"--split expects three numbers train,validation,test such as 0.7,0.15,0.15, got {value!r}."
        ) from None
    if len(ratios) != 3:
        raise FakeNewsError(
            f"--split expects three ratios train,validation,test (e.g. 0.7,0.15,0.15 or 0,0,1), got {len(ratios)}: {value!r}."
        )
    return check_ratios((ratios[0], ratios[1], ratios[2]))


def check_ratios(ratios: tuple[float, float, float]) -> tuple[float, float, float]:
    if any(not math.isfinite(r) or r < 0 for r in ratios):
        raise FakeNewsError(
            f"--split ratios must not be negative, got {','.join(f'{r:g}' for r in ratios)}; e.g. 0.7,0.15,0.15."
        )
    if abs(sum(ratios) - 1) > 1e-6:
        raise FakeNewsError(
            f"--split ratios must sum to 1, got {','.join(f'{r:g}' for r in ratios)} (sum {sum(ratios):g}); e.g. 0.7,0.15,0.15."
        )
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))


@dataclass(frozen=True)
class PrepareOptions:
    """What ``prepare`` does (the CLI flags of ``fakenews prepare``).

    Args:
        read: how to read the inputs (format, columns, label values); default
            :class:`~fakenews.data.sources.ReadOptions` ``()`` (auto-detected).
        split: ``(train, validation, test)`` ratios ≥ 0 summing to 1, e.g. ``(0, 0, 1)`` for an
            evaluation-only set. Default ``None``: the inputs' own split when every input has one
            (a split dir, LIAR's folder) and no ``group_by``, else ``(0.7, 0.15, 0.15)``.
        seed: random seed of the split. Default ``42``.
        group_by: a column of the input whose values must not span two splits (e.g. a site).
            Default ``None``.
        near_duplicates: Jaccard threshold of near duplicates in ``[0, 1]``; ``0`` turns the step
            off. Default ``0.9``.
        drop_near_duplicates: keep only the first row of each near-duplicate cluster instead of
            keeping the cluster inside one split. Default ``False``.
        num_perm: MinHash permutations (16–512). Default ``128``.
        min_text_chars: drop rows whose text (without the title) has fewer non-blank
            characters, as the ``short_text`` step. Default ``0`` (off: only rows with neither
            title nor text go).
        strip_markers: take the built-in source markers out of title and text before anything
            else (:data:`~fakenews.data.markers.BUILTIN_MARKERS`: agency datelines, photo
            credits, URLs, handles…). Default ``False``.
        strip_patterns: the user's own regular expressions to strip too (``--strip-pattern``,
            run after the built-in ones). Default ``()``.
        shortcuts: thresholds of the shortcut audit; default
            :class:`~fakenews.data.shortcuts.ShortcutOptions` ``()`` (precision 0.95,
            coverage 3%, top 20).
    """

    read: ReadOptions = field(default_factory=ReadOptions)
    split: tuple[float, float, float] | None = None
    seed: int = 42
    group_by: str | None = None
    near_duplicates: float = 0.9
    drop_near_duplicates: bool = False
    num_perm: int = NUM_PERM
    min_text_chars: int = 0
    strip_markers: bool = False
    strip_patterns: tuple[str, ...] = ()
    shortcuts: ShortcutOptions = field(default_factory=ShortcutOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strip_patterns", tuple(self.strip_patterns))
        marker_patterns(builtin=False, custom=self.strip_patterns)  # a bad regex fails here
        if isinstance(self.split, str):
            object.__setattr__(self, "split", parse_split(self.split))
        elif self.split is not None:
            if len(self.split) != 3:
                raise FakeNewsError(
                    f"--split expects three ratios train,validation,test, got {self.split!r}."
                )
            train, validation, test = self.split
            object.__setattr__(self, "split", check_ratios((train, validation, test)))
        if not 0 <= self.near_duplicates <= 1:
            raise FakeNewsError(
                f"--near-duplicates must be a Jaccard threshold in [0, 1] (0 = off), got {self.near_duplicates}."
            )
        if self.min_text_chars < 0:
            raise FakeNewsError(
                f"--min-text-chars must be 0 (off) or a positive number of characters, got {self.min_text_chars}."
            )
        if not 16 <= self.num_perm <= 512:
            raise FakeNewsError(f"num_perm must be between 16 and 512, got {self.num_perm}.")
        if self.drop_near_duplicates and self.near_duplicates == 0:
            raise FakeNewsError(
                "--drop-near-duplicates needs near-duplicate detection; drop --near-duplicates 0."
            )


@dataclass(frozen=True)
class Step:
    """One cleaning step: rows before, rows removed, rows after."""

    name: str
    rows_in: int
    removed: int
    rows_out: int


@dataclass(frozen=True)
class PrepareResult:
    """The split dir written by :func:`prepare` and what happened on the way."""

    out: Path
    fingerprint: str
    steps: tuple[Step, ...]
    counts: dict[str, dict[str, int]]
    leakage: Leakage
    shortcuts: ShortcutAudit
    manifest: dict[str, Any]


def prepare(
    inputs: Sequence[Path | str],
    out: Path | str,
    options: PrepareOptions | None = None,
    *,
    force: bool = False,
    quiet: bool = True,
) -> PrepareResult:
    """Read ``inputs``, clean, deduplicate and split them, and write the split dir ``out``.

    Each input is a path, or ``NAME=PATH`` to name its data set (default: the file or folder
    name without suffix); with several inputs every row's data set is the ``dataset`` column.
    """
    options = options or PrepareOptions()
    out = Path(out)
    if not inputs:
        raise FakeNewsError(
            "expected at least one INPUT file or folder; e.g. `fakenews prepare data.csv --out splits`."
        )
    check_output_dir(out, force=force, what="split dir")
    patterns = marker_patterns(builtin=options.strip_markers, custom=options.strip_patterns)
    sources, names, frame = _read(inputs, options)
    predefined = (
        options.split is None
        and options.group_by is None
        and all(s.predefined_split for s in sources)
    )
    if options.split is None and any(s.predefined_split for s in sources) and not predefined:
        logger.info(
            "not every input comes split (or --group-by is set): splitting everything by ratio"
        )
    cleaned = _clean(frame, options, patterns, predefined=predefined, quiet=quiet)
    frames, rows, split_info = _split(cleaned, options, predefined=predefined)
    manifest, leak, shortcuts = _manifest(
        [_input_entry(s, n) for s, n in zip(sources, names, strict=True)],
        cleaned,
        (frames, rows, split_info),
        options,
    )
    with atomic_dir(out, force=force, what="split dir") as tmp:
        for name in SPLITS:
            write_csv(tmp / f"{name}.csv", frames[name])
        write_json(tmp / MANIFEST, manifest)
    counts = manifest["counts"]
    logger.info("wrote %s (%s)", out, ", ".join(f"{s} {counts[s]['total']}" for s in SPLITS))
    return PrepareResult(
        out=out,
        fingerprint=manifest["fingerprint"],
        steps=tuple(
            Step(s["name"], s["rows_in"], s["removed"], s["rows_out"]) for s in cleaned.steps
        ),
        counts={s: counts[s] for s in SPLITS},
        leakage=leak,
        shortcuts=shortcuts,
        manifest=manifest,
    )


def parse_input(value: Path | str) -> tuple[str | None, Path]:
    """``"welfake=data/w.csv"`` → ``("welfake", Path("data/w.csv"))``; a plain (or existing) path → ``(None, path)``."""
    text = str(value)
    match = INPUT_NAME.fullmatch(text)
    if match is None or Path(text).exists():
        return None, Path(value)
    return match.group(1), Path(match.group(2))


def _read(
    inputs: Sequence[Path | str], options: PrepareOptions
) -> tuple[list[Source], list[str], pd.DataFrame]:
    """Every input read, its data set name, and one canonical frame (+ ``dataset`` if pooled)."""
    parsed = [parse_input(p) for p in inputs]
    sources = [read_input(path, options.read) for _, path in parsed]
    names = _dataset_names([name for name, _ in parsed], sources)
    frame = _combine_sources(sources, names)
    if options.group_by is not None and options.group_by not in frame.columns:
        if options.group_by == DATASET_COLUMN:
            raise FakeNewsError(
                "--group-by dataset needs several inputs (the dataset column names the input each row came from); "
                "found one input: pass several, or --group-by source."
            )
        raise FakeNewsError(
            f"--group-by {options.group_by!r} names no column of the input; found columns {', '.join(frame.columns)}."
        )
    return sources, names, frame


def _dataset_names(given: Sequence[str | None], sources: Sequence[Source]) -> list[str]:
    """Each input's data set name: its ``NAME=``, else its stem; ``input<i>`` when stems repeat."""
    explicit = [n for n in given if n is not None]
    repeated = sorted({n for n in explicit if explicit.count(n) > 1})
    if repeated:
        raise FakeNewsError(
            f"data set name {repeated[0]!r} is given to several inputs; give each input its own NAME=PATH name."
        )
    names = [
        n if n is not None else (s.path.stem or s.path.name)
        for n, s in zip(given, sources, strict=True)
    ]
    if len(set(names)) < len(names):
        names = [n if n is not None else f"input{i + 1}" for i, n in enumerate(given)]
        logger.info(
            "inputs share a name: calling them %s (name them with NAME=PATH)", ", ".join(names)
        )
    return names


@dataclass(frozen=True)
class _Cleaned:
    """The rows after cleaning, their normalised texts and near-duplicate figures, the steps."""

    frame: pd.DataFrame
    normalized: NormalizedRows
    clusters: list[list[int]]
    pairs: list[NearPair] | None
    steps: list[dict[str, Any]]


def _clean(
    frame: pd.DataFrame,
    options: PrepareOptions,
    patterns: Sequence[MarkerPattern],
    *,
    predefined: bool,
    quiet: bool,
) -> _Cleaned:
    """strip_markers, empty, short_text, combined_text, exact_duplicate, near_duplicate."""
    steps: list[dict[str, Any]] = [
        {"name": "read", "rows_in": len(frame), "removed": 0, "rows_out": len(frame)}
    ]
    if patterns:
        frame, step = strip_markers(frame, patterns)
        steps.append(step)
    frame, step = _drop_empty(frame)
    steps.append(step)
    if options.min_text_chars > 0:
        frame, step = _drop_short(frame, options.min_text_chars)
        steps.append(step)
    frame["combined_text"] = [
        combine(t, x) for t, x in zip(frame["title"], frame["text"], strict=True)
    ]
    normalized = normalize_rows(frame["title"].tolist(), frame["text"].tolist())
    frame, normalized, step = _drop_exact(frame, normalized)
    steps.append(step)
    frame, normalized, clusters, pairs, step = _near_duplicates(
        frame, normalized, options, predefined=predefined, quiet=quiet
    )
    steps.append(step)
    return _Cleaned(frame, normalized, clusters, pairs, steps)


def _split(
    cleaned: _Cleaned, options: PrepareOptions, *, predefined: bool
) -> tuple[dict[str, pd.DataFrame], list[int], dict[str, Any]]:
    """The split frames, the positions of their rows in ``cleaned.frame``, the manifest's ``split``."""
    frame = cleaned.frame
    if predefined:
        frames, rows = _frames(frame, frame[SPLIT_COLUMN].tolist(), list(range(len(frame))))
        return (
            frames,
            rows,
            {"method": "predefined", "ratios": None, "seed": None, "group_by": None},
        )
    ratios = options.split or DEFAULT_RATIOS
    units = _units(frame, cleaned.clusters, options.group_by)
    open_splits = sum(r > 0 for r in ratios)
    if options.group_by is not None and len(units) < open_splits:
        logger.warning(
            "--group-by %s has %d distinct value(s) for %d non-empty splits: some splits stay empty",
            options.group_by,
            len(units),
            open_splits,
        )
    assignment, order = _assign(
        frame["label"].to_numpy(), units, ratios, options.seed, grouped=options.group_by is not None
    )
    frames, rows = _frames(frame, assignment, order)
    return (
        frames,
        rows,
        {
            "method": "stratified-group" if options.group_by else "stratified",
            "ratios": list(ratios),
            "seed": options.seed,
            "group_by": options.group_by,
        },
    )


def _manifest(
    inputs: list[dict[str, Any]],
    cleaned: _Cleaned,
    split: tuple[dict[str, pd.DataFrame], list[int], dict[str, Any]],
    options: PrepareOptions,
) -> tuple[dict[str, Any], Leakage, ShortcutAudit]:
    """The manifest, with the leakage figures and the shortcut audit of the split frames."""
    frames, rows, split_info = split
    leak = leakage(
        frames,
        near_threshold=options.near_duplicates,
        num_perm=options.num_perm,
        normalized=_subset(cleaned.normalized, rows),
        near=_renumber(cleaned.pairs, rows) if cleaned.pairs is not None else None,
    )
    shortcuts = find_shortcuts(frames["train"], frames["test"], options.shortcuts)
    counts = counts_of(frames)
    manifest: dict[str, Any] = {
        "fakenews_version": __version__,
        "fingerprint": fingerprint(frames),
        "label_mapping": {"0": "real", "1": "fake"},
        "combined_text": 'title + " " + text',
        "inputs": inputs,
        "steps": cleaned.steps,
        "split": split_info,
        "counts": {**counts, "all": _total(counts)},
    }
    if DATASET_COLUMN in frames["train"].columns:
        manifest["counts_by_dataset"] = _counts_by(frames, DATASET_COLUMN)
    manifest["leakage"] = leak.to_dict()
    manifest["shortcuts"] = shortcuts.to_dict()
    return manifest, leak, shortcuts


def _combine_sources(sources: Sequence[Source], names: Sequence[str]) -> pd.DataFrame:
    frames = [s.frame.copy() for s in sources]
    all_ids = pd.concat([f["id"] for f in frames], ignore_index=True)
    if all_ids.duplicated().any():
        # Different inputs reuse ids (e.g. row numbers): prefix every id with its input's name.
        for f, name in zip(frames, names, strict=True):
            f["id"] = name + "/" + f["id"].astype(str)
        logger.info(
            "inputs share ids: each id is now prefixed with its input's name (%s)", ", ".join(names)
        )
    if len(frames) > 1:
        if any(DATASET_COLUMN in f.columns for f in frames):
            logger.warning(
                "an input has its own %r column: replaced by the input's name", DATASET_COLUMN
            )
        for f, name in zip(frames, names, strict=True):
            f[DATASET_COLUMN] = name
    frame = pd.concat(frames, ignore_index=True, sort=False)
    extra = [c for c in frame.columns if c not in ("id", "title", "text", "label", "source")]
    frame[extra] = frame[extra].fillna("")
    frame["title"] = frame["title"].fillna("").astype(str)
    frame["text"] = frame["text"].fillna("").astype(str)
    frame["label"] = frame["label"].astype(int)
    return frame


def _drop_empty(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    empty = (frame["title"].str.strip() == "") & (frame["text"].str.strip() == "")
    removed = frame.loc[empty, "id"].tolist()
    kept = frame.loc[~empty].reset_index(drop=True)
    return kept, {
        "name": "empty",
        "rows_in": len(frame),
        "removed": len(removed),
        "rows_out": len(kept),
        "removed_ids": removed,
    }


def _drop_short(frame: pd.DataFrame, min_chars: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    short = frame["text"].str.strip().str.len() < min_chars
    removed = frame.loc[short, "id"].tolist()
    kept = frame.loc[~short].reset_index(drop=True)
    return kept, {
        "name": "short_text",
        "min_text_chars": min_chars,
        "rows_in": len(frame),
        "removed": len(removed),
        "rows_out": len(kept),
        "removed_ids": removed,
    }


def _subset(rows: NormalizedRows, keep: Sequence[int]) -> NormalizedRows:
    return NormalizedRows(tuple(rows.titles[i] for i in keep), tuple(rows.texts[i] for i in keep))


def _drop_exact(
    frame: pd.DataFrame, normalized: NormalizedRows
) -> tuple[pd.DataFrame, NormalizedRows, dict[str, Any]]:
    ids, labels = frame["id"].tolist(), frame["label"].tolist()
    drop: set[int] = set()
    groups, conflicting = [], []
    for group in exact_groups(normalized):
        if len({labels[i] for i in group}) > 1:
            drop.update(group)
            conflicting.append(
                {"ids": [ids[i] for i in group], "labels": [labels[i] for i in group]}
            )
        else:
            drop.update(group[1:])
            groups.append({"kept": ids[group[0]], "removed": [ids[i] for i in group[1:]]})
    keep = [i for i in range(len(frame)) if i not in drop]
    kept = frame.iloc[keep].reset_index(drop=True)
    step = {
        "name": "exact_duplicate",
        "rows_in": len(frame),
        "removed": len(drop),
        "rows_out": len(kept),
        "removed_ids": [ids[i] for i in sorted(drop)],
        "key": "normalised combined_text, or normalised text when not empty (casefold, punctuation and whitespace folded)",
        "groups": groups,
        "conflicting": conflicting,
    }
    return kept, _subset(normalized, keep), step


def _near_duplicates(
    frame: pd.DataFrame,
    normalized: NormalizedRows,
    options: PrepareOptions,
    *,
    predefined: bool,
    quiet: bool,
) -> tuple[pd.DataFrame, NormalizedRows, list[list[int]], list[NearPair] | None, dict[str, Any]]:
    step: dict[str, Any] = {
        "name": "near_duplicate",
        "rows_in": len(frame),
        "threshold": options.near_duplicates,
    }
    if options.near_duplicates == 0:
        step.update(removed=0, rows_out=len(frame), action="off", removed_ids=[], clusters=[])
        return frame, normalized, [], None, step
    texts = normalized.combined
    sketches = minhashes(texts, num_perm=options.num_perm, quiet=quiet)
    pairs = near_pairs(
        texts, threshold=options.near_duplicates, num_perm=options.num_perm, sketches=sketches
    )
    clusters = near_groups(len(frame), pairs)
    ids, labels = frame["id"].tolist(), frame["label"].tolist()
    step.update(num_perm=options.num_perm, shingle_words=SHINGLE, pairs=len(pairs))
    step["clusters"] = [
        {"ids": [ids[i] for i in c], "labels": [labels[i] for i in c]} for c in clusters
    ]
    if options.drop_near_duplicates:
        drop: set[int] = set()
        for cluster in clusters:
            drop.update(cluster if len({labels[i] for i in cluster}) > 1 else cluster[1:])
        keep = [i for i in range(len(frame)) if i not in drop]
        frame = frame.iloc[keep].reset_index(drop=True)
        pairs = _renumber(pairs, keep)
        step.update(
            action="drop",
            removed=len(drop),
            rows_out=len(frame),
            removed_ids=[ids[i] for i in sorted(drop)],
        )
        return frame, _subset(normalized, keep), [], pairs, step
    step.update(action="keep_in_one_split", removed=0, rows_out=len(frame), removed_ids=[])
    if predefined:
        # The inputs' own split put a cluster in several splits: move it to its first row's split.
        moved = []
        splits = frame[SPLIT_COLUMN].tolist()
        for cluster in clusters:
            target = splits[cluster[0]]
            for i in cluster[1:]:
                if splits[i] != target:
                    moved.append({"id": ids[i], "from": splits[i], "to": target})
                    splits[i] = target
        frame = frame.assign(**{SPLIT_COLUMN: splits})
        step["moved"] = moved
    return frame, normalized, clusters, pairs, step


def _renumber(pairs: Sequence[NearPair], rows: Sequence[int]) -> list[NearPair]:
    """Pairs over old positions → pairs over ``rows`` (new position k holds old ``rows[k]``)."""
    new = {old: k for k, old in enumerate(rows)}
    out = [
        NearPair(min(new[p.a], new[p.b]), max(new[p.a], new[p.b]), p.jaccard)
        for p in pairs
        if p.a in new and p.b in new
    ]
    return sorted(out, key=lambda p: (p.a, p.b))


def _units(frame: pd.DataFrame, clusters: list[list[int]], group_by: str | None) -> list[list[int]]:
    """Rows that must share a split: near-duplicate clusters joined with ``group_by`` values."""
    uf = UnionFind(len(frame))
    for cluster in clusters:
        for i in cluster[1:]:
            uf.union(cluster[0], i)
    if group_by is not None:
        first: dict[str, int] = {}
        for i, value in enumerate(frame[group_by].astype(str)):
            uf.union(first.setdefault(value, i), i)
    members: dict[int, list[int]] = {}
    for i in range(len(frame)):
        members.setdefault(uf.find(i), []).append(i)
    return sorted(members.values(), key=lambda m: m[0])


def _quotas(n: int, ratios: Sequence[float]) -> list[int]:
    """Rows per split: floors, the remainder going to test, then validation, then train.

    (For 71,537 rows at 70/15/15 this gives the study's 50,075 / 10,731 / 10,731.)
    """
    sizes = [math.floor(n * r + 1e-9) for r in ratios]
    order = [i for i in (2, 1, 0) if ratios[i] > 0]
    k = 0
    while sum(sizes) < n:
        sizes[order[k % len(order)]] += 1
        k += 1
    return sizes


def _label_quotas(counts: dict[int, int], ratios: Sequence[float]) -> dict[int, list[int]]:
    """Rows per label and split whose split totals equal :func:`_quotas` of all rows."""
    totals = _quotas(sum(counts.values()), ratios)
    quota = {lab: [math.floor(n * r + 1e-9) for r in ratios] for lab, n in counts.items()}
    left = {lab: n - sum(quota[lab]) for lab, n in counts.items()}
    for s in (2, 1, 0):
        while sum(q[s] for q in quota.values()) < totals[s]:
            # the label whose share of this split was rounded down the most
            lab = max(
                (lab for lab in counts if left[lab] > 0),
                key=lambda lab: (counts[lab] * ratios[s] - quota[lab][s], -lab),
            )
            quota[lab][s] += 1
            left[lab] -= 1
    return quota


def _assign(
    labels: np.ndarray, units: list[list[int]], ratios: Sequence[float], seed: int, *, grouped: bool
) -> tuple[list[str], list[int]]:
    """Split names per row and the output order, stratified by label over ``units``.

    Every unit goes whole to one split. Ungrouped: per label, units in a seeded random order each
    go to the split with the most room left for that label (exact for single rows). Grouped:
    largest units first, each to the split it overfills least, then the one with most room.
    """
    rng = np.random.default_rng(seed)
    label_values = sorted(set(labels.tolist()))
    quota = _label_quotas({lab: int((labels == lab).sum()) for lab in label_values}, ratios)
    filled = {lab: [0, 0, 0] for lab in label_values}
    open_splits = [i for i in range(3) if ratios[i] > 0]
    assignment: list[str] = [""] * len(labels)
    order: list[list[int]] = [[], [], []]
    shuffled = [units[i] for i in rng.permutation(len(units))]

    def place(unit: list[int], s: int) -> None:
        for i in unit:
            assignment[i] = SPLITS[s]
            filled[int(labels[i])][s] += 1
        order[s].extend(unit)

    if grouped:
        for unit in sorted(shuffled, key=len, reverse=True):  # stable: ties keep the random order
            need = {lab: int((labels[unit] == lab).sum()) for lab in label_values}

            def cost(s: int, unit_need: dict[int, int] = need) -> tuple[int, float]:
                over = sum(
                    max(0, filled[lab][s] + c - quota[lab][s]) for lab, c in unit_need.items()
                )
                room = sum(quota[lab][s] - filled[lab][s] for lab in label_values) / max(
                    1, sum(quota[lab][s] for lab in label_values)
                )
                return over, -room

            place(unit, min(open_splits, key=cost))
    else:
        for lab in label_values:

            def room_left(s: int, lab: int = lab) -> tuple[int, int]:
                return quota[lab][s] - filled[lab][s], -s

            for unit in (u for u in shuffled if int(labels[u[0]]) == lab):
                place(unit, max(open_splits, key=room_left))
    rows = order[0] + order[1] + order[2]
    return assignment, rows


def _frames(
    frame: pd.DataFrame, assignment: Sequence[str], order: Sequence[int]
) -> tuple[dict[str, pd.DataFrame], list[int]]:
    """The three split frames, and the positions of their rows in ``frame`` (split order)."""
    columns = list(COLUMNS) + ([DATASET_COLUMN] if DATASET_COLUMN in frame.columns else [])
    frames: dict[str, pd.DataFrame] = {}
    positions: list[int] = []
    for name in SPLITS:
        rows = [i for i in order if assignment[i] == name]
        frames[name] = frame.iloc[rows].loc[:, columns].reset_index(drop=True)
        positions.extend(rows)
    return frames, positions


def _input_entry(source: Source, dataset: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "dataset": dataset,
        "path": str(source.path.resolve()),
        "format": source.format,
        "sha256": source.sha256,
        "files": source.files,
        "rows": len(source.frame),
        "label_values": source.label_values,
    }
    if source.predefined_split:
        entry["predefined_split"] = {
            s: int((source.frame[SPLIT_COLUMN] == s).sum()) for s in SPLITS
        }
    if source.checks:
        entry["checks"] = source.checks
    return entry


def _total(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    return {k: sum(c[k] for c in counts.values()) for k in ("total", "fake", "real")}


def _counts_by(
    frames: dict[str, pd.DataFrame], column: str
) -> dict[str, dict[str, dict[str, int]]]:
    """Rows per value of ``column``, split and label: ``{value: {split: {total, fake, real}}}``."""
    values = sorted(set().union(*(set(frames[s][column]) for s in SPLITS)))
    return {
        value: counts_of({s: frames[s][frames[s][column] == value] for s in SPLITS})
        for value in values
    }
