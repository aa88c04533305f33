"""The run dir's ``calibration.json`` and ``decision.json`` (contracts layer: imports only ground).

``fakenews calibrate`` (and ``train`` at its end) writes both; every reader gets them typed
through :attr:`fakenews.rundir.RunDir.calibration` and :attr:`~fakenews.rundir.RunDir.decision`.

``calibration.json``::

    {"method": "temperature", "temperature": 0.21, "n": 150,
     "ece_before": 0.31, "ece_after": 0.05, "brier_before": 0.17, "brier_after": 0.08,
     "nll_before": 0.52, "nll_after": 0.24, "split": "validation"}

``decision.json``::

    {"policy": "fpr:0.05", "threshold": 0.83, "fpr": 0.043, "recall": 0.71, "precision": 0.95,
     "f1": 0.81, "n_real": 70, "n_fake": 80, "requested": "fpr:0.05", "fallback_reason": null,
     "split": "validation"}

``policy`` is the policy that chose ``threshold``; ``requested`` the one the user asked for
(they differ only when validation was too small for it and a fallback was allowed, and then
``fallback_reason`` says why).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fakenews.errors import FakeNewsError

CALIBRATION_FILE = "calibration.json"
DECISION_FILE = "decision.json"
RECALIBRATE = "re-run `fakenews calibrate RUN_DIR`"

CalibrationMethod = Literal["temperature", "none"]
"""``temperature`` (Guo et al. 2017: one scalar dividing the logit, fitted on validation NLL) or
``none`` (probabilities as the model gives them, T = 1)."""

POLICY_HELP = (
    "argmax, max_f1, fpr:<budget> (e.g. fpr:0.05) or precision:<target> (e.g. precision:0.95)"
)


@dataclass(frozen=True)
class Policy:
    """A parsed decision policy: ``kind`` and, for ``fpr``/``precision``, its ``target`` in (0, 1)."""

    kind: Literal["argmax", "max_f1", "fpr", "precision"]
    target: float | None = None

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}:{self.target:g}"


def parse_policy(text: Any, *, flag: str = "--policy") -> Policy:
    """``argmax`` | ``max_f1`` | ``fpr:0.05`` | ``precision:0.95`` as a :class:`Policy`."""
    raw = str(text).strip().lower() if isinstance(text, str) else None
    if raw in ("argmax", "max_f1"):
        return Policy(raw)  # type: ignore[arg-type]
    name, _, value = (raw or "").partition(":")
    if name in ("fpr", "precision") and value:
        try:
            target = float(value)
        except ValueError:
            target = math.nan
        if 0.0 < target < 1.0:
            return Policy(name, target)  # type: ignore[arg-type]
    raise FakeNewsError(f"{flag} must be {POLICY_HELP} with the number in (0, 1); found {text!r}.")


def _check_number(where: str, name: str, value: Any, *, lo: float, hi: float | None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and value >= lo and (hi is None or value <= hi):
        return
    span = f"from {lo:g} to {hi:g}" if hi is not None else f"at least {lo:g}"
    raise FakeNewsError(f"{where}: {name} must be a number {span}, found {value!r}; {RECALIBRATE}.")


def _require(where: str, data: Mapping[str, Any], names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in data]
    if missing:
        raise FakeNewsError(
            f"{where}: expected the keys {', '.join(names)}, found no {', '.join(missing)}; {RECALIBRATE}."
        )


@dataclass(frozen=True)
class Calibration:
    """``calibration.json``: how ``P(fake)`` is calibrated, and what that did on validation.

    ``P(fake) = sigmoid(logit / temperature)`` where ``logit`` is the model's logit of fake
    (transformers: ``z_fake - z_real``; the baseline: its decision function).
    """

    method: CalibrationMethod
    temperature: float
    """T > 0; 1 means unchanged. T < 1 sharpens under-confident probabilities, T > 1 softens."""
    n: int
    """Validation articles it was fitted on."""
    ece_before: float | None = None
    ece_after: float | None = None
    brier_before: float | None = None
    brier_after: float | None = None
    nll_before: float | None = None
    nll_after: float | None = None
    split: str = "validation"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str) -> Calibration:
        """Validate and read back what :meth:`to_dict` wrote (unknown keys are ignored)."""
        _require(where, data, ("method", "temperature", "n"))
        if data["method"] not in ("temperature", "none"):
            raise FakeNewsError(
                f"{where}: method must be temperature or none, found {data['method']!r}; {RECALIBRATE}."
            )
        _check_number(where, "temperature", data["temperature"], lo=1e-6, hi=None)
        _check_number(where, "n", data["n"], lo=0, hi=None)
        for name in _FIGURES:
            if data.get(name) is not None:
                _check_number(where, name, data[name], lo=0.0, hi=None)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["temperature"] = float(data["temperature"])
        kwargs["n"] = int(data["n"])
        return cls(**kwargs)


_FIGURES = ("ece_before", "ece_after", "brier_before", "brier_after", "nll_before", "nll_after")


@dataclass(frozen=True)
class Decision:
    """``decision.json``: the threshold on calibrated ``P(fake)`` and how it does on validation."""

    policy: str
    """The policy that chose the threshold (``argmax``, ``max_f1``, ``fpr:0.05``, ...)."""
    threshold: float
    """Articles with ``P(fake) >= threshold`` are labelled fake (:func:`fakenews.metrics.decide`)."""
    n_real: int
    n_fake: int
    fpr: float | None = None
    recall: float | None = None
    precision: float | None = None
    f1: float | None = None
    """Of the fake class (flagging), on validation at ``threshold``."""
    requested: str | None = None
    """The policy the user asked for; differs from ``policy`` after a fallback."""
    fallback_reason: str | None = None
    split: str = "validation"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str) -> Decision:
        """Validate and read back what :meth:`to_dict` wrote (unknown keys are ignored)."""
        _require(where, data, ("policy", "threshold", "n_real", "n_fake"))
        if not isinstance(data["policy"], str):
            raise FakeNewsError(
                f"{where}: policy must be a string such as {POLICY_HELP}, found {data['policy']!r}; {RECALIBRATE}."
            )
        parse_policy(data["policy"], flag=f"{where}: policy")
        _check_number(where, "threshold", data["threshold"], lo=0.0, hi=1.0)
        for name in ("n_real", "n_fake"):
            _check_number(where, name, data[name], lo=0, hi=None)
        for name in ("fpr", "recall", "precision", "f1"):
            if data.get(name) is not None:
                _check_number(where, name, data[name], lo=0.0, hi=1.0)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["threshold"] = float(data["threshold"])
        kwargs["n_real"], kwargs["n_fake"] = int(data["n_real"]), int(data["n_fake"])
        return cls(**kwargs)
