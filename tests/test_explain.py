"""Explanations: word attributions (TF-IDF exact, Integrated Gradients), `fakenews explain`,
`POST /explain`, the top words of the listed mistakes and the deletion test."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import fakenews.explain as explain_module
from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.evaluation.explained import with_top_words
from fakenews.explain import deletion_test, explain_texts, remove_words
from fakenews.models.baseline import TfidfLogReg
from fakenews.models.encoding import encode
from fakenews.predictors import Windowing, load_predictor
from fakenews.predictors.attribution import BaselineAttributor, to_words
from fakenews.predictors.integrated_gradients import IntegratedGradientsAttributor
from fakenews.predictors.load import load_attributor
from fakenews.serving import API_KEY_HEADER, ServeLimits, create_app
from fakenews.splits import load_split_dir

STEPS = 8
ARTICLE = (
    "WASHINGTON (Reuters) - The Senate on Tuesday passed a bipartisan infrastructure bill, "
    "sending the measure to the House; critics called it an unbelievable hoax."
)


def _test_texts(split_dir: Path, n: int = 4) -> list[str]:
    return load_split_dir(split_dir).split("test")["combined_text"].head(n).tolist()


def _log_odds(prob_fake: float) -> float:
    return math.log(prob_fake / (1.0 - prob_fake))


# ----------------------------------------------------------------------------- attributions


def test_baseline_word_scores_sum_exactly_to_its_log_odds_minus_the_intercept(
    tiny_baseline_run_dir: Path, tiny_split_dir: Path
) -> None:
    texts = _test_texts(tiny_split_dir)
    attributor = load_attributor(tiny_baseline_run_dir)
    model = TfidfLogReg.load(tiny_baseline_run_dir / "model")
    decision = model.decision_function(texts)
    for text, a, d in zip(texts, attributor.attribute(texts), decision, strict=True):
        assert a.method == "tfidf-coefficient"
        assert a.output == pytest.approx(d, abs=1e-9)
        assert a.reference == pytest.approx(float(model.classifier_.intercept_[0]))
        assert sum(w.score for w in a.words) == pytest.approx(d - a.reference, abs=1e-9)
        assert a.gap == pytest.approx(0.0, abs=1e-9)
        assert not a.reading.truncated and a.reading.spans == ((0, len(text)),)


def test_a_baseline_word_pushes_the_way_its_coefficient_points() -> None:
    texts = [
        "shocking hoax exposed",
        "senate passes budget",
        "hoax shocking truth",
        "budget vote passes",
    ]
    model = TfidfLogReg(ngram_max=1, min_df=1, c_grid=(10.0,)).fit(texts, [1, 0, 1, 0])
    coef = dict(
        zip(model.vectorizer_.get_feature_names_out(), model.classifier_.coef_[0], strict=True)
    )
    (a,) = BaselineAttributor(model).attribute(["the shocking senate budget hoax"])
    scores = {w.word: w.score for w in a.words}
    for word in ("shocking", "senate", "budget", "hoax"):
        assert np.sign(scores[word]) == np.sign(coef[word]) != 0
    assert scores["the"] == 0.0  # not in the vocabulary: no weight


def test_bigram_shares_are_split_over_their_words_and_repeats_share_a_feature() -> None:
    texts = ["fake news here", "real report there", "fake news again", "real report now"]
    model = TfidfLogReg(ngram_max=2, min_df=1, c_grid=(10.0,)).fit(texts, [1, 0, 1, 0])
    (a,) = BaselineAttributor(model).attribute(["fake news and fake news"])
    scores = [w.score for w in a.words]
    # both occurrences of "fake" (and of "news") get the same share of the same features
    assert scores[0] == pytest.approx(scores[3]) and scores[1] == pytest.approx(scores[4])
    assert sum(scores) == pytest.approx(a.output - a.reference, abs=1e-9)


def test_integrated_gradients_scores_sum_to_the_change_in_log_odds(
    tiny_run_dir: Path, tiny_split_dir: Path
) -> None:
    texts = [ARTICLE, *_test_texts(tiny_split_dir, 2)]
    attributor = load_attributor(tiny_run_dir, device="cpu", steps=STEPS)
    probs = load_predictor(tiny_run_dir, device="cpu").predict_proba(texts)[:, 1]
    for a, p in zip(attributor.attribute(texts), probs, strict=True):
        assert a.method == "integrated-gradients"
        assert a.output == pytest.approx(_log_odds(p), abs=1e-4)  # the function explained
        total = sum(w.score for w in a.words)
        change = a.output - a.reference
        assert total == pytest.approx(change, abs=0.02 + 0.05 * abs(change))  # completeness


def test_the_attributor_shares_a_loaded_predictors_model_and_scores_the_same(
    tiny_run_dir: Path, tiny_baseline_run_dir: Path
) -> None:
    predictor = load_predictor(tiny_run_dir, device="cpu")
    shared = load_attributor(tiny_run_dir, device="cpu", steps=STEPS, predictor=predictor)
    own = load_attributor(tiny_run_dir, device="cpu", steps=STEPS)
    assert shared.model is predictor.model and own.model is not predictor.model  # type: ignore[attr-defined]
    a, b = shared.attribute([ARTICLE])[0], own.attribute([ARTICLE])[0]
    assert [w.word for w in a.words] == [w.word for w in b.words]
    assert [w.score for w in a.words] == pytest.approx([w.score for w in b.words], abs=1e-6)
    baseline = load_predictor(tiny_baseline_run_dir)
    assert load_attributor(tiny_baseline_run_dir, predictor=baseline).model is baseline.model  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "fixture", ["tiny_run_dir", "tiny_baseline_run_dir", "tiny_albert_run_dir"]
)
def test_offsets_point_at_the_words(fixture: str, request: pytest.FixtureRequest) -> None:
    run = request.getfixturevalue(fixture)
    (e,) = explain_texts(run, [ARTICLE], steps=STEPS, device="cpu")
    words = e.attributions
    assert [w.word for w in words[:4]] == ["WASHINGTON", "(", "Reuters", ")"]
    assert all(ARTICLE[w.start : w.end] == w.word for w in words)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert any(w.score != 0.0 for w in words)


def test_sub_words_are_summed_into_their_word() -> None:
    text = "unbelievably fake"
    # WordPiece-style pieces and a SentencePiece-style piece whose offsets hold the space
    pieces = [(0, 2, 0.5), (2, 8, 0.25), (8, 12, 0.25), (12, 17, -1.0)]
    words = to_words(text, pieces, within=((0, len(text)),))
    assert [(w.word, w.score, w.start, w.end) for w in words] == [
        ("unbelievably", 1.0, 0, 12),
        ("fake", -1.0, 13, 17),
    ]


def test_a_word_the_tokenizer_splits_is_one_word_with_one_score(tiny_run_dir: Path) -> None:
    attributor = load_attributor(tiny_run_dir, device="cpu", steps=STEPS)
    assert isinstance(attributor, IntegratedGradientsAttributor)
    word = "Supercalifragilistic"
    pieces = attributor.tokenizer(word, add_special_tokens=False)["input_ids"]
    assert len(pieces) > 1  # the premise: it is several sub-words
    (a,) = attributor.attribute([f"The {word} senate vote."])
    assert [w.word for w in a.words] == ["The", word, "senate", "vote", "."]


def test_a_long_article_is_explained_as_far_as_the_model_read(tiny_run_dir: Path) -> None:
    text = " ".join([ARTICLE] * 8)
    (e,) = explain_texts(tiny_run_dir, [text], steps=STEPS, device="cpu")
    reading = e.attribution.reading
    assert reading.truncated and reading.strategy == "head"
    assert reading.read == 64 - 2 and reading.total > 200  # data.max_length 64, [CLS] and [SEP]
    ((start, end),) = reading.spans
    assert start == 0 and end < len(text)
    assert all(w.start < end for w in e.attributions)
    doc = e.truncated()
    assert doc["truncated"] is True and doc["read_spans"] == [[0, end]]
    assert doc["note"].startswith(f"the model read 62 of {reading.total} tokens (head truncation)")
    assert f"characters {end:,}-{len(text):,} were cut" in doc["note"]


def test_head_tail_reads_the_start_and_the_end_as_training_did(tiny_run_dir: Path) -> None:
    base = load_attributor(tiny_run_dir, device="cpu", steps=STEPS)
    assert isinstance(base, IntegratedGradientsAttributor)
    windowing = Windowing(max_length=64, truncation="head_tail")
    attributor = IntegratedGradientsAttributor(base.model, base.tokenizer, windowing, steps=STEPS)
    text = " ".join(f"{ARTICLE} Paragraph {i}." for i in range(8))
    ids, _, reading = attributor.read(text)
    expected = encode(base.tokenizer, [text], max_length=64, truncation="head_tail")["input_ids"][0]
    assert ids == list(expected)
    (s1, e1), (s2, e2) = reading.spans
    assert s1 == 0 and e1 < s2 and e2 == len(text)
    (a,) = attributor.attribute([text])
    assert a.words[-1].word == "." and a.words[-1].end == len(text)


# ----------------------------------------------------------------------------- the command


def test_explain_cli_shows_the_words_and_writes_json_and_escaped_html(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ARTICLE + " <script>alert('x')</script>"
    out_json, out_html = tmp_path / "e.json", tmp_path / "e.html"
    code = main(
        ["explain", str(tiny_baseline_run_dir), text, "--top", "3", "--json", str(out_json),
         "--html", str(out_html), "--quiet"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "P(fake)" in out and "top 3 words (+ towards fake, - towards real):" in out
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    (e,) = doc["explanations"]
    assert doc["format"] == "fakenews-explanations/1" and doc["model"] == "tfidf-logreg"
    assert set(e) >= {
        "prob_fake",
        "label",
        "threshold",
        "attributions",
        "truncated",
        "method",
        "top",
    }
    assert e["threshold"] == 0.5 and e["label"] == int(e["prob_fake"] >= 0.5) and len(e["top"]) == 3
    assert all(text[w["start"] : w["end"]] == w["word"] for w in e["attributions"])
    page = out_html.read_text(encoding="utf-8")
    assert "<script" not in page and ">&lt;</span>" in page and ">&#x27;</span>" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.html", "e.json"]  # no temp files left


def test_explain_cli_reads_an_input_file_as_predict_does(
    tiny_baseline_run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": "a", "title": "Hoax", "text": ARTICLE}, {"id": "b", "text": "Senate vote."}]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out_json = tmp_path / "e.json"
    assert (
        main(
            [
                "explain",
                str(tiny_baseline_run_dir),
                "-i",
                str(source),
                "--json",
                str(out_json),
                "--quiet",
            ]
        )
        == 0
    )
    texts = [e["text"] for e in json.loads(out_json.read_text())["explanations"]]
    assert texts == ["Hoax " + ARTICLE, "Senate vote."]
    assert "[2]" in capsys.readouterr().out


def test_a_failure_while_rendering_leaves_no_file(
    tiny_baseline_run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    def broken(*args: object, **kwargs: object) -> str:
        raise FakeNewsError("rendering failed on purpose.")

    monkeypatch.setattr(explain_module, "explanations_html", broken)
    out_json, out_html = tmp_path / "e.json", tmp_path / "e.html"
    code = main(
        [
            "explain",
            str(tiny_baseline_run_dir),
            ARTICLE,
            "--json",
            str(out_json),
            "--html",
            str(out_html),
            "--quiet",
        ]
    )
    assert code == 1
    assert capsys.readouterr().err.strip() == "error: rendering failed on purpose."
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            'error: nothing to explain; pass article texts (`fakenews explain RUN_DIR "text"`) or --input FILE.',
        ),
        (["x", "--top", "0"], "error: --top must be at least 1; found 0."),
        (["   "], "error: text 1 is empty or not a string; expected the article's text."),
    ],
)
def test_explain_cli_errors_are_one_line(
    args: list[str], message: str, tiny_baseline_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(tiny_baseline_run_dir), *args]) == 1
    err = capsys.readouterr().err
    assert err.strip() == message and "Traceback" not in err


def test_explain_cli_on_a_missing_run_dir_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(tmp_path / "nope"), "some text"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: expected a run dir at {tmp_path / 'nope'}, found nothing there; create one with `fakenews train`."
    )


# ----------------------------------------------------------------------------- POST /explain

LIMITS = ServeLimits(max_body_bytes=4000, max_articles=2, max_chars=300)


@pytest.fixture(scope="module")
def client(tiny_run_dir: Path) -> TestClient:
    return TestClient(create_app(tiny_run_dir, limits=LIMITS), raise_server_exceptions=False)


def test_explain_endpoint_agrees_with_predict(client: TestClient) -> None:
    body = {"title": "Hoax", "text": "The Senate on Tuesday passed a bill."}
    predicted = client.post("/predict", json=body).json()
    answer = client.post("/explain?top=3", json=body)
    assert answer.status_code == 200, answer.text
    e = answer.json()
    assert e["prob_fake"] == pytest.approx(predicted["prob_fake"], abs=1e-6)
    assert e["label"] == predicted["label"] and e["label_name"] == predicted["label_name"]
    assert e["text"] == "Hoax The Senate on Tuesday passed a bill." and len(e["top"]) == 3
    assert all(e["text"][w["start"] : w["end"]] == w["word"] for w in e["attributions"])
    batch = client.post(
        "/explain", json={"articles": [{"text": "one vote"}, {"text": "two hoaxes"}]}
    )
    assert [x["text"] for x in batch.json()["explanations"]] == ["one vote", "two hoaxes"]


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"json": {"text": "   "}},
        {"json": {"text": "x" * 301}},
        {"json": {"articles": [{"text": "a"}] * 3}},
        {"json": {"articles": []}},
        {"json": {"text": "a", "extra": 1}},
        {"json": ["not", "an", "object"]},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {
            "content": b'{"text": "' + b"x" * 5000 + b'"}',
            "headers": {"content-type": "application/json"},
        },
        {"content": b"text=hi", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    ],
)
def test_explain_refuses_what_predict_refuses_with_the_same_answer(
    client: TestClient, request_kwargs: dict[str, object]
) -> None:
    predicted = client.post("/predict", **request_kwargs)  # type: ignore[arg-type]
    explained = client.post("/explain", **request_kwargs)  # type: ignore[arg-type]
    assert 400 <= predicted.status_code < 500
    assert explained.status_code == predicted.status_code
    assert explained.json() == predicted.json()


def test_explain_needs_the_api_key_like_predict(tiny_run_dir: Path) -> None:
    keyed = TestClient(create_app(tiny_run_dir, api_key="k3y"), raise_server_exceptions=False)
    refused = keyed.post("/explain", json={"text": "a vote"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert (
        keyed.post("/explain", json={"text": "a vote"}, headers={API_KEY_HEADER: "k3y"}).status_code
        == 200
    )


def test_explain_top_out_of_range_is_422(client: TestClient) -> None:
    answer = client.post("/explain?top=0", json={"text": "a vote"})
    assert answer.status_code == 422
    assert (
        answer.json()["error"]["message"] == "query.top: Input should be greater than or equal to 1"
    )


# ----------------------------------------------------------------------------- errors and deletion


def test_listed_mistakes_get_their_top_words(tiny_baseline_run_dir: Path) -> None:
    frame = pd.DataFrame(
        {"id": ["a", "b", "c"], "combined_text": ["Shocking hoax truth", "Senate vote", "Budget"]}
    )
    errors = pd.DataFrame(
        {"id": ["a", "b", "c"], "kind": ["FP", "FP", "FN"], "prob_fake": [0.9, 0.8, 0.1]}
    )
    attributor = load_attributor(tiny_baseline_run_dir)
    out = with_top_words(errors, frame, attributor, shown=1, k=2)
    assert out["top_words"].tolist()[1] == ""  # not listed (shown=1): not explained
    for i in (0, 2):
        (a,) = attributor.attribute([frame["combined_text"][i]])
        expected = ", ".join(f"{w.word} ({w.score:+.3f})" for w in a.top(2))
        assert out["top_words"][i] == expected


def test_evaluate_lists_the_top_words_of_each_mistake_for_the_baseline(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(tiny_baseline_run_dir, tmp_path / "run"))
    assert main(["evaluate", str(run), "--quiet"]) == 0
    report = (run / "errors" / "test.md").read_text(encoding="utf-8")
    errors = pd.read_csv(run / "errors" / "test.csv", keep_default_na=False)
    assert "| id | P(fake) | chars | snippet | top words (+ fake, - real) |" in report
    assert all(re.search(r"\([+-]\d\.\d{3}\)", w) for w in errors["top_words"])


def test_remove_words_takes_every_occurrence_case_insensitively() -> None:
    assert remove_words("Hoax! the hoax, HOAX and hoaxes", {"hoax"}) == "! the ,  and hoaxes"


def test_deletion_test_on_the_baseline_top_words_move_more_than_random(
    tiny_baseline_run_dir: Path,
) -> None:
    result = deletion_test(tiny_baseline_run_dir, ks=(1, 5), draws=2, seed=0)
    assert result.n == 12 and result.method == "tfidf-coefficient" and result.steps is None
    assert [r.k for r in result.rows] == [1, 5]
    for row in result.rows:
        assert row.top_drop > row.random_drop
        assert 0.0 <= row.top_wins <= 1.0
    doc = result.to_dict()
    assert doc["rows"][0]["k"] == 1 and doc["kind"] == "baseline"


def test_deletion_test_refuses_bad_settings(tiny_baseline_run_dir: Path) -> None:
    with pytest.raises(
        FakeNewsError,
        match=re.escape("k values and --draws must be at least 1; found k=[0], draws=3."),
    ):
        deletion_test(tiny_baseline_run_dir, ks=(0,))
