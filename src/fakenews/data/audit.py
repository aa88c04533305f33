"""Audit of a split dir: which articles do its splits share, and which markers give labels away?

Works on any split dir, including one made elsewhere (e.g. the study's Kaggle split with only
``combined_text, label``). ``prepare`` writes the same figures into its manifest's ``leakage``
section by calling :func:`leakage` on the frames it writes, so the two always agree; and its
``shortcuts`` section (:mod:`fakenews.data.shortcuts`), which :func:`audit` reuses when the
manifest's fingerprint matches the files and its thresholds are the ones asked for, and
computes otherwise (a split dir made elsewhere, or by an older fakenews).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from fakenews.data.dedup import (
    NUM_PERM,
    NearPair,
    NormalizedRows,
    exact_groups,
    near_pairs,
    normalize_rows,
)
from fakenews.data.shortcuts import ShortcutAudit, ShortcutOptions, find_shortcuts
from fakenews.errors import FakeNewsError
from fakenews.io import write_json
from fakenews.splits import SPLITS, SplitDir, fingerprint, load_split_dir

DEFAULT_NEAR = 0.9
"""Jaccard threshold for near duplicates (word 3-gram shingles), as in ``prepare``."""


@dataclass(frozen=True)
class LeakPair:
    """Two rows in different splits that are the same article (``exact``) or nearly (``near``)."""

    kind: str
    a_id: str
    a_split: str
    b_id: str
    b_split: str
    jaccard: float | None = None


@dataclass(frozen=True)
class Leakage:
    """Shared articles across and within splits.

    Attributes:
        exact_cross_split: pairs of rows in different splits that are exact duplicates.
        near_cross_split: pairs in different splits with estimated Jaccard ≥ ``near_threshold``
            that are not exact duplicates; ``None`` when near-duplicate detection was off.
        exact_within_split / near_within_split: the same, inside one split (not leakage).
        near_threshold: the Jaccard threshold used (0 = off).
        pairs: every cross-split pair, exact first.
    """

    exact_cross_split: int
    near_cross_split: int | None
    exact_within_split: int
    near_within_split: int | None
    near_threshold: float
    pairs: tuple[LeakPair, ...]

    @property
    def leaks(self) -> bool:
        return self.exact_cross_split > 0 or bool(self.near_cross_split)

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``leakage`` section."""
        data = asdict(self)
        data["pairs"] = [asdict(p) for p in self.pairs]
        return data


@dataclass(frozen=True)
class AuditReport:
    """What ``fakenews audit`` found in one split dir."""

    path: Path
    fingerprint: str
    counts: dict[str, dict[str, int]]
    leakage: Leakage
    shortcuts: ShortcutAudit
    shortcuts_from: Literal["manifest", "computed"]

    def to_dict(self) -> dict[str, Any]:
        """What ``audit --json`` writes: ``{"leakage": …, "shortcuts": [markers], "best_rule": …}``
        with the split dir, its fingerprint and how the shortcut audit was made."""
        doc = self.shortcuts.to_dict()
        return {
            "split_dir": str(self.path),
            "fingerprint": self.fingerprint,
            "leakage": self.leakage.to_dict(),
            "shortcuts": doc["markers"],
            "best_rule": doc["best_rule"],
            "shortcut_audit": {
                "settings": doc["settings"],
                "train_articles": doc["train_articles"],
                "test_articles": doc["test_articles"],
                "baseline_accuracy": doc["baseline_accuracy"],
                "from": self.shortcuts_from,
            },
        }


def counts_of(frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Rows per split and label: ``{split: {total, fake, real}}``."""
    out = {}
    for name in SPLITS:
        frame = frames.get(name, pd.DataFrame({"label": []}))
        fake = int((frame["label"].astype(int) == 1).sum()) if len(frame) else 0
        out[name] = {"total": len(frame), "fake": fake, "real": len(frame) - fake}
    return out


def leakage(
    frames: Mapping[str, pd.DataFrame],
    *,
    near_threshold: float = DEFAULT_NEAR,
    num_perm: int = NUM_PERM,
    normalized: NormalizedRows | None = None,
    near: Sequence[NearPair] | None = None,
    quiet: bool = True,
) -> Leakage:
    """Count exact and near-duplicate pairs across (and within) the splits of ``frames``.

    ``normalized`` (the rows' normalised texts) and ``near`` (their near-duplicate pairs from
    :func:`~fakenews.data.dedup.near_pairs`), both in split order (train, validation, test),
    save the work when the caller has them already.
    """
    parts = [frames[s].assign(_split=s) for s in SPLITS if s in frames and len(frames[s])]
    if not parts:
        return Leakage(
            0,
            0 if near_threshold > 0 else None,
            0,
            0 if near_threshold > 0 else None,
            near_threshold,
            (),
        )
    rows = pd.concat(parts, ignore_index=True)
    ids = rows["id"].astype(str).tolist()
    split = rows["_split"].tolist()
    if normalized is None:
        normalized = normalize_rows(
            rows["title"].astype(str).tolist(), rows["text"].astype(str).tolist()
        )
    pairs, exact_within, same_exact = _exact_pairs(normalized, ids, split)
    exact_cross = len(pairs)
    near_cross: int | None = None
    near_within: int | None = None
    if near_threshold > 0:
        if near is None:
            near = near_pairs(
                normalized.combined, threshold=near_threshold, num_perm=num_perm, quiet=quiet
            )
        near_found, near_within = _near_pairs(near, same_exact, ids, split)
        near_cross = len(near_found)
        pairs += near_found
    return Leakage(
        exact_cross_split=exact_cross,
        near_cross_split=near_cross,
        exact_within_split=exact_within,
        near_within_split=near_within,
        near_threshold=near_threshold,
        pairs=tuple(pairs),
    )


def _exact_pairs(
    normalized: NormalizedRows, ids: list[str], split: list[str]
) -> tuple[list[LeakPair], int, set[tuple[int, int]]]:
    """Exact-duplicate pairs across splits, the count within splits, and every duplicate pair."""
    pairs: list[LeakPair] = []
    within = 0
    same: set[tuple[int, int]] = set()
    for group in exact_groups(normalized):
        for a, b in itertools.combinations(group, 2):
            same.add((a, b))
            if split[a] == split[b]:
                within += 1
            else:
                pairs.append(LeakPair("exact", ids[a], split[a], ids[b], split[b]))
    return pairs, within, same


def _near_pairs(
    found: Sequence[NearPair], same_exact: set[tuple[int, int]], ids: list[str], split: list[str]
) -> tuple[list[LeakPair], int]:
    """Near-duplicate pairs across splits (exact ones left out) and the count within splits."""
    pairs: list[LeakPair] = []
    within = 0
    for pair in found:
        if (pair.a, pair.b) in same_exact:
            continue
        if split[pair.a] == split[pair.b]:
            within += 1
        else:
            pairs.append(
                LeakPair(
                    "near", ids[pair.a], split[pair.a], ids[pair.b], split[pair.b], pair.jaccard
                )
            )
    return pairs, within


def audit(
    split_dir: Path,
    *,
    near_threshold: float = DEFAULT_NEAR,
    shortcuts: ShortcutOptions | None = None,
    quiet: bool = True,
) -> AuditReport:
    """Load ``split_dir`` (ours or an external one): its leakage figures and shortcut audit."""
    if not 0 <= near_threshold <= 1:
        raise FakeNewsError(
            f"--near-duplicates must be a Jaccard threshold in [0, 1] (0 = off), got {near_threshold}."
        )
    loaded = load_split_dir(Path(split_dir))
    found, source = _shortcuts(loaded, shortcuts or ShortcutOptions())
    return AuditReport(
        path=Path(split_dir),
        fingerprint=loaded.fingerprint,
        counts=counts_of(loaded.frames),
        leakage=leakage(loaded.frames, near_threshold=near_threshold, quiet=quiet),
        shortcuts=found,
        shortcuts_from=source,
    )


def _shortcuts(
    loaded: SplitDir, options: ShortcutOptions
) -> tuple[ShortcutAudit, Literal["manifest", "computed"]]:
    """The manifest's shortcut audit if it is of these files and thresholds, else a new one."""
    doc = loaded.manifest.get("shortcuts")
    if doc is not None and loaded.manifest.get("fingerprint") == fingerprint(loaded.frames):
        try:
            written = ShortcutAudit.from_dict(doc)
        except (KeyError, TypeError, FakeNewsError):  # another shape: an edited or older manifest
            written = None
        if written is not None and written.settings == options:
            return written, "manifest"
    return find_shortcuts(loaded.frames["train"], loaded.frames["test"], options), "computed"


def write_audit_json(report: AuditReport, path: Path) -> None:
    """Write :meth:`AuditReport.to_dict` to ``path`` (atomically)."""
    path = Path(path)
    if path.is_dir():
        raise FakeNewsError(
            f"--json {path} is a folder; expected a file path such as {path / 'audit.json'}."
        )
    write_json(path, report.to_dict())
