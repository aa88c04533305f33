"""``POST /explain``: the words behind a verdict, with the request shapes, limits and error
answers of ``POST /predict`` (one article -> one explanation, ``{"articles": [...]}`` -> a list
in request order; ``?top=K`` words listed per article, default 10).

The attributor (:func:`fakenews.predictors.load.load_attributor`) is loaded on the first
``/explain`` request, so serving predictions starts as fast as before; attributions run one
request at a time, under the same lock as the predictor's forward passes (Integrated Gradients
hooks the embedding layer while it runs).
"""

import threading
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.params import Depends
from pydantic import BaseModel

from fakenews.explain import DEFAULT_TOP_K, Explanation, explain_texts
from fakenews.metrics import DEFAULT_THRESHOLD
from fakenews.predictors.attribution import Attributor
from fakenews.predictors.base import Predictor
from fakenews.predictors.load import load_attributor
from fakenews.rundir import RunDir
from fakenews.splits import combine

MAX_TOP = 200


class WordOut(BaseModel):
    """One word occurrence: score in log-odds of fake (positive = towards fake), character
    offsets ``[start, end)`` into the explanation's ``text``."""

    word: str
    score: float
    start: int
    end: int


class TopWordOut(BaseModel):
    word: str
    score: float
    count: int


class ExplanationOut(BaseModel):
    """The verdict (as ``/predict`` gives it) and why: ``text`` is what was explained (the
    offsets index it), ``log_odds`` what the scores sum to (``output - reference - gap``)."""

    label: int
    label_name: str
    prob_fake: float
    threshold: float
    method: str
    log_odds: dict[str, float]
    truncated: dict[str, Any]
    top: list[TopWordOut]
    attributions: list[WordOut]
    text: str


class ExplanationBatchOut(BaseModel):
    explanations: list[ExplanationOut]


class _Explainer:
    """The served predictor's P(fake) and a lazily loaded attributor, one request at a time."""

    def __init__(
        self,
        run: RunDir,
        predictor: Predictor,
        lock: threading.Lock,
        *,
        threshold: float,
        steps: int | None,
        device: str,
    ) -> None:
        self.run = run
        self.predictor = predictor
        self.lock = lock
        self.threshold = threshold
        self.steps = steps
        self.device = device
        self.attributor: Attributor | None = None

    def __call__(self, texts: Sequence[str], top: int) -> list[ExplanationOut]:
        with self.lock:
            if self.attributor is None:
                self.attributor = load_attributor(  # shares the served model
                    self.run, device=self.device, steps=self.steps, predictor=self.predictor
                )
            explanations = explain_texts(
                self.run,
                texts,
                threshold=self.threshold,
                predictor=self.predictor,
                attributor=self.attributor,
            )
        return [_out(e, top) for e in explanations]


def _out(e: Explanation, top: int) -> ExplanationOut:
    return ExplanationOut(**e.to_dict(top))


def add_explain_route(
    app: FastAPI,
    run: RunDir,
    predictor: Predictor,
    request_models: tuple[type[BaseModel], type[BaseModel], Any],
    *,
    lock: threading.Lock,
    dependencies: Sequence[Depends] = (),
    threshold: float = DEFAULT_THRESHOLD,
    steps: int | None = None,
    device: str = "auto",
) -> None:
    """Add ``POST /explain`` to ``app``: ``request_models`` are ``/predict``'s (article, batch,
    body) so that both answer the same requests alike; ``lock`` is the predictor's."""
    _, batch_model, body_model = request_models
    explainer = _Explainer(run, predictor, lock, threshold=threshold, steps=steps, device=device)

    @app.post(
        "/explain",
        response_model=ExplanationOut | ExplanationBatchOut,
        dependencies=list(dependencies),
        summary="Explain one article or a batch: the words behind each verdict",
    )
    def explain(
        body: body_model,  # type: ignore[valid-type]
        top: Annotated[int, Query(ge=1, le=MAX_TOP)] = DEFAULT_TOP_K,
    ) -> ExplanationOut | ExplanationBatchOut:
        if isinstance(body, batch_model):
            texts = [combine(a.title, a.text) for a in body.articles]  # type: ignore[attr-defined]
            return ExplanationBatchOut(explanations=explainer(texts, top))
        return explainer([combine(body.title, body.text)], top)[0]  # type: ignore[attr-defined]
