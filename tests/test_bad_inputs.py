"""The bad-input corpus (issue 17): every command, every file of the run dir and the split dir.

One table, :data:`CASES`. Each case copies a small world into ``tmp_path`` (a split dir, two
evaluated TF-IDF runs, a tiny 0.1.0 BERT run, a raw CSV), breaks it in one way, runs the command
in-process through :func:`fakenews.cli.main` and asserts the promise of the CLI:

- the documented exit code (1; 2 where a check found a problem, e.g. ``audit``'s leakage);
- exactly one line on stderr, ``error: ...`` holding the case's ``says`` text, no traceback and no
  "internal error" (a bug);
- nothing left behind: every file under ``tmp_path`` is as it was (no new output, no half-made run
  dir, no changed input).

A case with ``accepted`` set is a bad-looking input that is accepted on purpose (the text says
why); it must succeed. ``benchmarks/bad_input_counts.py`` prints the counts per command from this
table, and docs/errors.md holds that output (a test below keeps the two equal).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

from fakenews.cli import main
from fakenews.evaluation.stage import evaluate
from fakenews.training import train

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "v0.1.0"
DOCS = REPO / "docs" / "errors.md"

Edit = str | bytes | None | Callable[[Path], None]
"""What a case does to one path of the world: new text or bytes, ``None`` deletes it, a callable
edits it in place."""


@dataclass(frozen=True)
class Case:
    command: str
    """The command as the counts table names it (``models fetch``, ``data fetch``, ...)."""
    id: str
    """What is broken, as a short sentence (the test id)."""
    argv: str
    """The command line; ``{tmp}`` is the case's world, ``{port}`` a free TCP port, ``{cache}``
    the world's token cache."""
    says: str = ""
    """Text the one error line must hold (the essence of the message)."""
    edits: dict[str, Edit] = field(default_factory=dict)
    """Paths under ``{tmp}`` to change before running."""
    code: int = 1
    accepted: str = ""
    """Non-empty: accepted on purpose, and why."""


# ------------------------------------------------------------------------------ edits


def frame_edit(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    """Rewrite a CSV through ``change`` (all cells read as strings)."""

    def edit(path: Path) -> None:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        change(frame).to_csv(path, index=False)

    edit.__name__ = name
    return edit


def json_edit(change: Callable[[dict], object]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def edit(path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(change(data)), encoding="utf-8")

    return edit


def _set(frame: pd.DataFrame, column: str, value: str, rows: int = 1) -> pd.DataFrame:
    frame.loc[frame.index[:rows], column] = value
    return frame


def _one_class(frame: pd.DataFrame) -> pd.DataFrame:
    frame["label"] = "1"
    return frame


def _leak(split: Path) -> None:
    """Copy the first test article into train.csv (under another id): leakage."""
    test = pd.read_csv(split / "test.csv", dtype=str, keep_default_na=False)
    train_ = pd.read_csv(split / "train.csv", dtype=str, keep_default_na=False)
    row = test.iloc[:1].copy()
    row["id"] = "leaked-copy"
    pd.concat([train_, row]).to_csv(split / "train.csv", index=False)


def _onnx_garbage(onnx: Path) -> None:
    """An ``onnx/`` export folder of the BERT run whose model file is garbage."""
    shutil.copytree(onnx.parent / "model", onnx)
    (onnx / "model.onnx").write_bytes(BINARY)
    (onnx / "export.json").write_text('{"model_file": "model.onnx"}', encoding="utf-8")


def _kill_checkpoints(checkpoints: Path) -> None:
    """Every checkpoint as a run killed while writing it leaves it (no readable trainer_state)."""
    for state in checkpoints.glob("checkpoint-*/trainer_state.json"):
        state.write_text('{"global_step": ', encoding="utf-8")


def _append(text: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text)

    return edit


def _fingerprint(data: dict) -> dict:  # type: ignore[type-arg]
    return {**data, "fingerprint": "0" * 64}


BINARY = b"\x00\x01\x02PK\x03\x04\x00\xff\xfe" * 20
NOT_UTF8 = "id,title,text,combined_text,label,source\nx1,Caf\xe9,t,t,1,s\n".encode("cp1252")
LIST = "[1, 2]"
HEADER_ONLY = "id,title,text,combined_text,label,source\n"
STUDY_OK = "datasets:\n  raw: {path: raw.csv}\nmodels: [tfidf-logreg]\nprotocols: [in_domain]\n"

TINY = ("model.size=tiny", "train.epochs=1", "data.max_length=32", "data.cache_dir={cache}")
"""The one tiny transformer run of the world (``tiny``), with a checkpoint to resume from;
``{cache}`` is the world's token cache (its config.yaml records it, so a resume passes it too)."""

# Short names for the world's paths in argv.
S, R, R2, B = "{tmp}/split", "{tmp}/tfidf", "{tmp}/tfidf2", "{tmp}/bert"


def _split_cases() -> list[Case]:
    """The same broken split dir for train (which reads all of it) and the other readers."""
    broken: list[tuple[str, str, dict[str, Edit]]] = [
        ("the split dir is missing", "expected a split dir at", {"split": None}),
        ("train.csv is missing", "is missing train.csv", {"split/train.csv": None}),
        ("validation.csv is empty", "is empty; expected a header row", {"split/validation.csv": ""}),
        ("test.csv is binary", "is not UTF-8", {"split/test.csv": BINARY}),
        ("train.csv holds a NUL byte", "contains binary data", {"split/train.csv": HEADER_ONLY + "a,b\x00,c,d,1,s\n"}),
        ("validation.csv is not UTF-8", "is not UTF-8: byte 0xe9 at line 2", {"split/validation.csv": NOT_UTF8}),
        ("test.csv has no label column", "expected a 'label' column", {"split/test.csv": frame_edit("nolabel", lambda f: f.drop(columns=["label"]))}),
        ("train.csv has no text columns", "expected a 'combined_text' column", {"split/train.csv": frame_edit("notext", lambda f: f.drop(columns=["title", "text", "combined_text"]))}),
        ("train.csv holds an unknown label", "expected label values 0 (real) or 1 (fake), found 'maybe'", {"split/train.csv": frame_edit("maybe", lambda f: _set(f, "label", "maybe"))}),
        ("train.csv has an unterminated quote", "is not valid CSV", {"split/train.csv": HEADER_ONLY + 'x,"open,t,t,1,s\nx2,a,b,c,0,s\n'}),
        ("manifest.json is a list", "should hold a JSON object ({...}), found a list", {"split/manifest.json": LIST}),
        ("manifest.json is not JSON", "is not valid JSON", {"split/manifest.json": "{fingerprint: "}),
        ("manifest.json is binary", "is not valid JSON", {"split/manifest.json": BINARY}),
    ]  # fmt: skip
    cases = [
        Case(
            "train", f"{what} (train)", f"train {S} -m tfidf-logreg -o {{tmp}}/new -q", says, edits
        )
        for what, says, edits in broken
    ]
    cases += [
        Case("audit", f"{what} (audit)", f"audit {S} -q --json {{tmp}}/audit.json", says, edits)
        for what, says, edits in broken[:10]
    ]
    cases += [
        Case("evaluate", f"--data: {what}", f"evaluate {R} --data {S} -q", says, edits)
        for what, says, edits in broken[:8]
    ]  # fmt: skip
    return cases


def _run_file_cases() -> list[Case]:
    """Each file of an evaluated run dir, broken, for the commands that read it."""
    ev, cmp, srv = f"evaluate {R} --data {S} -q", f"compare {R} {R2} --out {{tmp}}/report --bootstrap 200 -q", f"serve {R} --port {{port}} -q"  # fmt: skip
    bench, pred = (
        f"benchmark {R} --data {S} --n-articles 5 --batch-size 1 -q",
        f"predict {R} 'a text' -q",
    )
    cases = [
        Case("evaluate", "the run dir is missing", ev, "expected a run dir at", {"tfidf": None}),
        Case("evaluate", "the run dir is a file", ev, "found a file", {"tfidf": "x"}),
        Case("evaluate", "config.yaml is missing", ev, "config.yaml is missing", {"tfidf/config.yaml": None}),
        Case("evaluate", "config.yaml holds model: 5", ev, "config.yaml", {"tfidf/config.yaml": "model: 5\n"}),
        Case("evaluate", "config.yaml is a list", ev, "config.yaml", {"tfidf/config.yaml": LIST}),
        Case("evaluate", "config.yaml is binary", ev, "config.yaml", {"tfidf/config.yaml": BINARY}),
        Case("evaluate", "config.yaml is empty", ev, "should name the run's model", {"tfidf/config.yaml": ""}),
        Case("evaluate", "config.yaml names an unknown kind", ev, "config.yaml", {"tfidf/config.yaml": "model: {name: x, kind: magic}\n"}),
        Case("evaluate", "data_manifest.json is a list", ev, "run data manifest", {"tfidf/data_manifest.json": LIST}),
        Case("evaluate", "data_manifest.json is empty", ev, "is not valid JSON", {"tfidf/data_manifest.json": ""}),
        Case("evaluate", "data_manifest.json label_mapping is a list", ev, "label_mapping should be", {"tfidf/data_manifest.json": json_edit(lambda d: {**d, "label_mapping": [1, 2]})}),
        Case("evaluate", "train_summary.json is a list", ev, "training summary", {"tfidf/train_summary.json": LIST}),
        Case("evaluate", "train_summary.json has kind: 5", ev, "kind must be transformer or baseline", {"tfidf/train_summary.json": '{"kind": 5}'}),
        Case("evaluate", "train_summary.json is not UTF-8", ev, "is not valid JSON", {"tfidf/train_summary.json": b'{"kind": "\xe9"}'}),
        Case("evaluate", "the run's own split dir is gone (no --data)", f"evaluate {R} -q", "is gone; pass --data", {"tfidf/train_summary.json": json_edit(lambda d: {**d, "split_dir": "/nonexistent/split"})}),
        Case("evaluate", "model/ is missing", ev, "model is missing", {"tfidf/model": None}),
        Case("evaluate", "model/baseline.json is missing", ev, "baseline.json", {"tfidf/model/baseline.json": None}),
        Case("evaluate", "model/baseline.json is a list", ev, "could not load the baseline model", {"tfidf/model/baseline.json": LIST}),
        Case("evaluate", "model/arrays.npz is garbage", ev, "could not load the baseline model", {"tfidf/model/arrays.npz": BINARY}),
        Case("evaluate", "model/vocabulary.json is missing", ev, "vocabulary.json", {"tfidf/model/vocabulary.json": None}),
        Case("evaluate", "a transformer's model/config.json is missing", f"evaluate {B} --data {S} -q", "config.json", {"bert/model/config.json": None}),
        Case("evaluate", "a transformer's model.safetensors is truncated", f"evaluate {B} --data {S} -q", "model.safetensors", {"bert/model/model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}"}),
        Case("evaluate", "a transformer's tokenizer files are missing", f"evaluate {B} --data {S} -q", "tokenizer", {"bert/model/tokenizer.json": None, "bert/model/tokenizer_config.json": None}),
        Case("evaluate", "--data maps labels the other way", ev, "maps labels as", {"split/manifest.json": json_edit(lambda d: {**d, "label_mapping": {"0": "fake", "1": "real"}})}),
        Case("evaluate", "--data's test split has no rows", ev, "has no rows", {"split/test.csv": HEADER_ONLY}),
        Case("evaluate", "--split is unknown", f"{ev} --split dev", "unknown split 'dev'"),
        Case("evaluate", "--batch-size 0", f"{ev} --batch-size 0", "--batch-size must be at least 1; found 0."),
        Case("evaluate", "--backend onnx before export", f"{ev} --backend onnx", "export"),
        Case("evaluate", "--by an unknown column", f"{ev} --by colour", "--by expects one of source, dataset, found 'colour'."),
        Case("evaluate", "--by dataset on a split without that column", f"{ev} --by dataset", "has no 'dataset' column"),
        Case("evaluate", "--precision fp8", f"{ev} --precision fp8", "--precision must be one of"),
        Case("evaluate", "--long everything", f"{ev} --long everything", "--long must be one of"),
        Case("evaluate", "history.jsonl is garbage", ev, accepted="history.jsonl is train's log for people; only train --resume reads it back", edits={"tfidf/history.jsonl": BINARY}),
        Case("evaluate", "checkpoints/ holds garbage", ev, accepted="checkpoints/ is read only by train --resume", edits={"tfidf/checkpoints/checkpoint-1/trainer_state.json": BINARY}),
        Case("evaluate", "efficiency.json is a list", ev, accepted="evaluate does not need efficiency.json; the model card it rewrites shows an unreadable one as not benchmarked", edits={"tfidf/efficiency.json": LIST}),
        Case("evaluate", "--data test.csv has an extra unknown column", ev, accepted="extra columns are ignored, so a split dir made by other tools loads", edits={"split/test.csv": frame_edit("extra", lambda f: f.assign(notes="x"))}),
        Case("evaluate", "data_manifest.json has fingerprint 5", ev, "fingerprint should be a string", {"tfidf/data_manifest.json": json_edit(lambda d: {**d, "fingerprint": 5})}),
        Case("evaluate", "--data's manifest maps a third label", ev, "label_mapping should be", {"split/manifest.json": json_edit(lambda d: {**d, "label_mapping": {"0": "real", "1": "fake", "2": "satire"}})}),
        Case("evaluate", "config.yaml has an unknown key", ev, "colour", {"tfidf/config.yaml": lambda p: p.write_text(p.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")}),
        Case("evaluate", "train_summary.json validation holds text", ev, "validation must be a mapping of metrics to numbers", {"tfidf/train_summary.json": json_edit(lambda d: {**d, "validation": {"accuracy": "high"}})}),
        Case("evaluate", "onnx/model.onnx is garbage (--backend onnx)", f"evaluate {B} --data {S} --backend onnx -q", "model.onnx", {"bert/onnx": _onnx_garbage}),
        Case("evaluate", "onnx/export.json is a list (--backend onnx)", f"evaluate {B} --data {S} --backend onnx -q", "export record", {"bert/onnx": _onnx_garbage, "bert/onnx/export.json": LIST}),
        Case("evaluate", "onnx/ is empty (--backend onnx)", f"evaluate {B} --data {S} --backend onnx -q", "holds no model.onnx", {"bert/onnx/.keep": ""}),
        Case("evaluate", "model_card.json and README.md are garbage", ev, accepted="evaluate writes both again from the run's files; it never reads them", edits={"tfidf/model_card.json": BINARY, "tfidf/README.md": BINARY}),
        Case("evaluate", "plots/ holds garbage", ev, accepted="plots/ is only written", edits={"tfidf/plots/test_roc.png": BINARY}),
        Case("compare", "predictions/test.csv lists an id twice", cmp, "twice", {"tfidf2/predictions/test.csv": frame_edit("dup", lambda f: _set(f, "id", "same", rows=2))}),
        Case("compare", "predictions/test.csv has an extra column", cmp, accepted="extra columns are ignored (e.g. a spreadsheet's notes)", edits={"tfidf2/predictions/test.csv": frame_edit("extra", lambda f: f.assign(notes="x"))}),
        Case("compare", "metrics/test.json has n 'many'", cmp, "n should be a number", {"tfidf2/metrics/test.json": json_edit(lambda d: {**d, "n": "many"})}),
        Case("serve", "onnx/model.onnx is garbage (--backend onnx)", f"serve {B} --port {{port}} --backend onnx -q", "model.onnx", {"bert/onnx": _onnx_garbage}),
        Case("predict", "onnx/export.json is a list (--backend onnx)", f"predict {B} 'a text' --backend onnx -q", "export record", {"bert/onnx": _onnx_garbage, "bert/onnx/export.json": LIST}),
        Case("export", "--batch-size 0", f"export {B} --data {S} --batch-size 0 -q", "--batch-size must be at least 1"),
        Case("export", "--split dev", f"export {B} --data {S} --split dev -q", "dev"),
        Case("export", "--data test.csv is binary", f"export {B} --data {S} -q", "is not UTF-8", {"split/test.csv": BINARY}),
        Case("benchmark", "--n-articles 0", f"benchmark {R} --data {S} --n-articles 0 -q", "--n-articles"),
        Case("benchmark", "--batch-size 0", f"benchmark {R} --data {S} --batch-size 0 -q", "batch sizes must be positive integers; found [0]."),
        Case("benchmark", "--threads 0", f"{bench} --threads 0", "--threads"),
        Case("benchmark", "train_summary.json is a list", bench, "training summary", {"tfidf/train_summary.json": LIST}),
        Case("benchmark", "config.yaml holds model: 5", bench, "config.yaml", {"tfidf/config.yaml": "model: 5\n"}),
        Case("benchmark", "--data test.csv is binary", bench, "is not UTF-8", {"split/test.csv": BINARY}),
        Case("benchmark", "--device quantum", f"{bench} --device quantum", "--device"),
        Case("compare", "only one run", f"compare {R} --out {{tmp}}/report -q", "two or more"),
        Case("compare", "a run is not evaluated", cmp, "has not been evaluated", {"tfidf2/metrics/test.json": None}),
        Case("compare", "metrics/test.json is a list", cmp, "should hold a JSON object", {"tfidf2/metrics/test.json": LIST}),
        Case("compare", "metrics/test.json is not JSON", cmp, "is not valid JSON", {"tfidf2/metrics/test.json": "{"}),
        Case("compare", "metrics/test.json has accuracy 'high'", cmp, "accuracy should be a number, found 'high'", {"tfidf2/metrics/test.json": json_edit(lambda d: {**d, "accuracy": "high"})}),
        Case("compare", "another metrics file is a list", cmp, "should hold a JSON object", {"tfidf2/metrics/validation.json": LIST}),
        Case("compare", "predictions/test.csv is binary", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": BINARY}),
        Case("compare", "predictions/test.csv is not UTF-8", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": b"id,label,pred,prob_fake\n\xe9,1,1,0.9\n"}),
        Case("compare", "predictions/test.csv is empty", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": ""}),
        Case("compare", "predictions/test.csv is missing", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": None}),
        Case("compare", "predictions/test.csv lacks prob_fake", cmp, "lacks column(s) prob_fake", {"tfidf2/predictions/test.csv": frame_edit("noprob", lambda f: f.drop(columns=["prob_fake"]))}),
        Case("compare", "predictions/test.csv holds label 'maybe'", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": frame_edit("maybe", lambda f: _set(f, "label", "maybe"))}),
        Case("compare", "predictions/test.csv holds prob_fake 'high'", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": frame_edit("high", lambda f: _set(f, "prob_fake", "high"))}),
        Case("compare", "predictions/test.csv holds prob_fake 7", cmp, "predictions/test.csv", {"tfidf2/predictions/test.csv": frame_edit("seven", lambda f: _set(f, "prob_fake", "7"))}),
        Case("compare", "predictions/test.csv covers other articles", cmp, "cover different articles", {"tfidf2/predictions/test.csv": frame_edit("ids", lambda f: _set(f, "id", "someone-else"))}),
        Case("compare", "data_manifest.json and metrics/test.json disagree on the fingerprint", cmp, "was computed on data with fingerprint", {"tfidf2/data_manifest.json": json_edit(_fingerprint)}),
        Case("compare", "the runs were trained on splits of other fingerprints", cmp, "runs were trained on different splits", {"tfidf2/data_manifest.json": json_edit(_fingerprint), "tfidf2/metrics/test.json": json_edit(lambda d: {**d, "data_fingerprint": "0" * 64})}),
        Case("compare", "data_manifest.json is a list", cmp, "run data manifest", {"tfidf2/data_manifest.json": LIST}),
        Case("compare", "train_summary.json is a list", cmp, "training summary", {"tfidf2/train_summary.json": LIST}),
        Case("compare", "efficiency.json is a list", cmp, "efficiency", {"tfidf2/efficiency.json": LIST}),
        Case("compare", "efficiency.json is binary", cmp, "efficiency", {"tfidf2/efficiency.json": BINARY}),
        Case("compare", "config.yaml holds model: 5", cmp, "config.yaml", {"tfidf2/config.yaml": "model: 5\n"}),
        Case("compare", "--out is not empty", cmp, "already exists and is not empty", {"report/x.txt": "keep me"}),
        Case("compare", "--bootstrap 0", f"{cmp} --bootstrap 0", "--bootstrap"),
        Case("compare", "--split unknown", f"{cmp} --split dev", "dev"),
        Case("compare", "errors/test.csv is binary", cmp, "error table", {"tfidf2/errors/test.csv": BINARY}),
        Case("compare", "errors/test.csv holds prob_fake 'high'", cmp, "prob_fake should be a number", {"tfidf2/errors/test.csv": "id,label,pred,prob_fake,kind,chars,snippet\nx,1,0,high,false_negative,3,abc\n"}),
        Case("compare", "errors/test.csv has another layout", cmp, accepted="errors/*.csv only adds examples to the report; one without id,kind,prob_fake (another tool's) is left out", edits={"tfidf2/errors/test.csv": "a,b\n1,2\n"}),
        Case("compare", "history.jsonl is garbage", cmp, accepted="history.jsonl is train's log for people; compare never reads it", edits={"tfidf2/history.jsonl": BINARY}),
        Case("serve", "the run dir is missing", srv, "expected a run dir at", {"tfidf": None}),
        Case("serve", "--port 0", f"serve {R} --port 0 -q", "--port must be from 1 to 65535; found 0."),
        Case("serve", "--port 70000", f"serve {R} --port 70000 -q", "--port must be from 1 to 65535"),
        Case("serve", "config.yaml holds model: 5", srv, "config.yaml", {"tfidf/config.yaml": "model: 5\n"}),
        Case("serve", "data_manifest.json is a list", srv, "run data manifest", {"tfidf/data_manifest.json": LIST}),
        Case("serve", "train_summary.json is a list", srv, "training summary", {"tfidf/train_summary.json": LIST}),
        Case("serve", "model/baseline.json is missing", srv, "baseline.json", {"tfidf/model/baseline.json": None}),
        Case("serve", "--backend onnx before export", f"{srv} --backend onnx", "export"),
        Case("serve", "--batch-size 0", f"{srv} --batch-size 0", "--batch-size must be at least 1"),
        Case("serve", "--max-articles 0", f"{srv} --max-articles 0", "--max-articles"),
        Case("serve", "--max-body-bytes -1", f"{srv} --max-body-bytes -1", "--max-body-bytes"),
        Case("predict", "the run dir is missing", pred, "expected a run dir at", {"tfidf": None}),
        Case("predict", "config.yaml is a list", pred, "config.yaml", {"tfidf/config.yaml": LIST}),
        Case("predict", "model/ is missing", pred, "model is missing", {"tfidf/model": None}),
        Case("predict", "model/arrays.npz is garbage", pred, "could not load the baseline model", {"tfidf/model/arrays.npz": BINARY}),
        Case("predict", "--batch-size 0", f"{pred} --batch-size 0", "--batch-size must be at least 1; found 0."),
        Case("predict", "--chunk-size 0", f"predict {R} -i {{tmp}}/raw.csv --chunk-size 0 -q", "--chunk-size must be at least 1; found 0."),
        Case("predict", "--chunk-size 0 with TEXT", f"{pred} --chunk-size 0", "--chunk-size must be at least 1; found 0."),
        Case("predict", "--format xml", f"predict {R} -i {{tmp}}/raw.csv --format xml -q", "--format"),
        Case("predict", "--input is missing", f"predict {R} -i {{tmp}}/nothing.csv -q", "nothing.csv"),
        Case("predict", "--output is under a file", f"predict {R} -i {{tmp}}/raw.csv -o {{tmp}}/raw.csv/out.csv -q", "raw.csv"),
        Case("export", "a TF-IDF run", f"export {R} -q", "transformer"),
        Case("export", "--format tflite", f"export {B} --data {S} --format tflite -q", "--format"),
        Case("export", "--quantize int4", f"export {B} --data {S} --quantize int4 -q", "--quantize"),
        Case("export", "--repeats 0", f"export {B} --data {S} --repeats 0 -q", "--repeats"),
        Case("export", "--max-drop -1", f"export {B} --data {S} --max-drop -1 -q", "--max-drop"),
        Case("export", "model/config.json is missing", f"export {B} --data {S} -q", "config.json", {"bert/model/config.json": None}),
        Case("export", "config.yaml holds model: 5", f"export {B} --data {S} -q", "config.yaml", {"bert/config.yaml": "model: 5\n"}),
    ]  # fmt: skip
    return cases


def _train_cases() -> list[Case]:
    new = f"train {S} -m tfidf-logreg -o {{tmp}}/new -q"
    cfg = f"{new} --config {{tmp}}/over.yaml"
    resume = f"train {S} -m scratch:bert -o {{tmp}}/tiny --resume -q " + " ".join(
        f"--set {o}" for o in TINY
    )
    interrupted: dict[str, Edit] = {"tiny/model": None}
    cases = [
        Case("train", "--resume: history.jsonl ends in a partial line", resume, accepted="a run killed while it wrote its log leaves a partial last line; resume drops it", edits={**interrupted, "tiny/history.jsonl": _append('{"step": 99, "lo')}),
        Case("train", "--resume: the newest checkpoint was killed mid-write", resume, accepted="a checkpoint without a readable trainer_state.json is skipped (here: the only one, so training starts again)", edits={**interrupted, "tiny/checkpoints": _kill_checkpoints}),
        Case("train", "--resume with other settings", f"{resume} --set train.epochs=2", "cannot resume", interrupted),
        Case("train", "--resume on a split of another fingerprint", resume, "cannot resume", {**interrupted, "split/manifest.json": json_edit(_fingerprint)}),
        Case("train", "--resume: config.yaml is a list", resume, "must hold a mapping", {**interrupted, "tiny/config.yaml": LIST}),
        Case("train", "--resume: data_manifest.json is a list", resume, "run data manifest", {**interrupted, "tiny/data_manifest.json": LIST}),
        Case("train", "--config holds model: 5", cfg, "over.yaml", {"over.yaml": "model: 5\n"}),
        Case("train", "--config is a list", cfg, "over.yaml", {"over.yaml": LIST}),
        Case("train", "--config is binary", cfg, "over.yaml", {"over.yaml": BINARY}),
        Case("train", "--config is not YAML", cfg, "over.yaml", {"over.yaml": "train: {epochs: [\n"}),
        Case("train", "--config has an unknown key", cfg, "colour", {"over.yaml": "train: {colour: red}\n"}),
        Case("train", "--config is missing", cfg, "over.yaml"),
        Case("train", "--set an unknown key", f"{new} --set train.colour=red", "colour"),
        Case("train", "--set without =", f"{new} --set train.epochs", "train.epochs"),
        Case("train", "--set epochs to text", f"{new} --set train.epochs=many", "train.epochs"),
        Case("train", "--set epochs to -1", f"{new} --set train.epochs=-1", "train.epochs"),
        Case("train", "--set baseline.min_df above the train size", f"{new} --set baseline.min_df=1000", accepted="the baseline lowers min_df by itself when a small split would prune every n-gram (documented in baseline.py)"),
        Case("train", "--set data.cache_dir under a file (fails after the run dir is started)", f"train {S} -m scratch:bert -o {{tmp}}/new -q --set model.size=tiny --set train.epochs=1 --set data.cache_dir={{tmp}}/raw.csv", "raw.csv"),
        Case("train", "--set baseline.c_grid empty", f"{new} --set baseline.c_grid=[]", "c_grid"),
        Case("train", "--model unknown", f"train {S} -m no-such-model -o {{tmp}}/new -q", "no-such-model"),
        Case("train", "--model an empty folder", f"train {S} -m {{tmp}}/empty -o {{tmp}}/new -q", "empty", {"empty/.keep": ""}),
        Case("train", "--out is a file", f"train {S} -m tfidf-logreg -o {{tmp}}/raw.csv -q", "is a file"),
        Case("train", "--out holds another run", f"train {S} -m tfidf-logreg -o {R} -q", "already holds a complete run"),
        Case("train", "--out is not empty", f"train {S} -m tfidf-logreg -o {{tmp}}/empty -q", "exists and is not empty", {"empty/.keep": ""}),
        Case("train", "--resume with nothing to resume", f"{new} --resume", "nothing to resume"),
        Case("train", "--resume and --force", f"{new} --resume --force", "not both"),
        Case("train", "--resume a complete run", f"train {S} -m tfidf-logreg -o {R} --resume -q", "already complete"),
        Case("train", "--report-to wandb", f"{new} --report-to wandb", "--report-to must be one of"),
        Case("train", "--model scratch:gpt", f"train {S} -m scratch:gpt -o {{tmp}}/new -q", "unknown scratch architecture 'gpt'"),
        Case("train", "--model a hub id not in the offline cache", f"train {S} -m nobody/nothing -o {{tmp}}/new -q", "nobody/nothing"),
        Case("train", "--model a model dir without config.json", f"train {S} -m {{tmp}}/bert/model -o {{tmp}}/new -q", "config.json", {"bert/model/config.json": None}),
        Case("train", "--out under a file", f"train {S} -m tfidf-logreg -o {{tmp}}/raw.csv/run -q", "raw.csv"),
        Case("train", "the train split has one class", new, "has only fake articles", {"split/train.csv": frame_edit("oneclass", _one_class)}),
        Case("train", "the train split has no rows", new, "has no rows", {"split/train.csv": HEADER_ONLY}),
        Case("train", "manifest.json is missing", new, "has no manifest.json", {"split/manifest.json": None}),
        Case("train", "train.csv has an extra unknown column", new, accepted="extra columns are ignored, so a split dir made by other tools loads", edits={"split/train.csv": frame_edit("extra", lambda f: f.assign(notes="x"))}),
        Case("train", "train.csv labels written 1.0/0.0", new, accepted="1.0/0.0 is how spreadsheets re-save 1/0; read as the same labels", edits={"split/train.csv": frame_edit("floats", lambda f: f.assign(label=f["label"] + ".0"))}),
        Case("train", "manifest.json has unknown keys", new, accepted="newer versions add keys; unknown ones are kept as they are", edits={"split/manifest.json": json_edit(lambda d: {**d, "from_the_future": 1})}),
    ]  # fmt: skip
    return cases


def _other_cases() -> list[Case]:
    prep = "prepare {tmp}/raw.csv -o {tmp}/prepared -q"
    study = "study {tmp}/study.yaml --out {tmp}/study-out -q"
    cases = [
        Case("prepare", "the input is missing", "prepare {tmp}/nothing.csv -o {tmp}/prepared -q", "nothing.csv"),
        Case("prepare", "the input is empty", prep, "raw.csv", {"raw.csv": ""}),
        Case("prepare", "the input is binary", prep, "raw.csv", {"raw.csv": BINARY}),
        Case("prepare", "the input is not UTF-8", prep, "not UTF-8", {"raw.csv": NOT_UTF8}),
        Case("prepare", "the input has no label column", prep, "label", {"raw.csv": frame_edit("nolabel", lambda f: f.drop(columns=["label"]))}),
        Case("prepare", "the input has an unknown label", prep, "maybe", {"raw.csv": frame_edit("maybe", lambda f: _set(f, "label", "maybe"))}),
        Case("prepare", "a JSONL line is not JSON", "prepare {tmp}/raw.jsonl -o {tmp}/prepared -q", "raw.jsonl", {"raw.jsonl": '{"text": "a", "label": 1}\n{"text": \n'}),
        Case("prepare", "a JSONL line is a list", "prepare {tmp}/raw.jsonl -o {tmp}/prepared -q", "raw.jsonl", {"raw.jsonl": '{"text": "a", "label": 1}\n[1, 2]\n'}),
        Case("prepare", "--split 0.5,0.5", f"{prep} --split 0.5,0.5", "--split"),
        Case("prepare", "--near-duplicates 2", f"{prep} --near-duplicates 2", "--near-duplicates"),
        Case("prepare", "--out is a file", "prepare {tmp}/raw.csv -o {tmp}/raw.csv -q", "is a file"),
        Case("prepare", "--out is not empty", "prepare {tmp}/raw.csv -o {tmp}/tfidf -q", "already exists and is not empty"),
        Case("prepare", "--strip-pattern is not a regular expression", f"{prep} --strip-pattern '('", "--strip-pattern"),
        Case("prepare", "--text-column that is not there", f"{prep} --text-column body", "body"),
        Case("prepare", "--group-by a column that is not there", f"{prep} --group-by site", "site"),
        Case("prepare", "--format liar for a CSV", f"{prep} --format liar", "expected LIAR's 14"),
        Case("prepare", "--min-text-chars -1", f"{prep} --min-text-chars -1", "--min-text-chars"),
        Case("prepare", "--fake-label a value the input lacks", f"{prep} --fake-label bogus", "bogus"),
        Case("prepare", "the input has an extra unknown column", prep, accepted="extra columns are ignored (or kept for --group-by), so real exports load", edits={"raw.csv": frame_edit("extra", lambda f: f.assign(notes="x"))}),
        Case("audit", "the split dir is a file", "audit {tmp}/raw.csv -q", "found a file"),
        Case("audit", "a test article is also in train (leakage)", f"audit {S} -q", "", {"split": _leak}, code=2),
        Case("audit", "--json is a folder", f"audit {S} -q --json {{tmp}}/tfidf", "tfidf"),
        Case("audit", "--near-duplicates -1", f"audit {S} -q --near-duplicates -1", "--near-duplicates"),
        Case("study", "the study file is missing", study, "study.yaml"),
        Case("study", "the study file is empty", study, "study.yaml", {"study.yaml": ""}),
        Case("study", "the study file is a list", study, "study.yaml", {"study.yaml": LIST}),
        Case("study", "the study file is binary", study, "study.yaml", {"study.yaml": BINARY}),
        Case("study", "an unknown top-level key", study, "colour", {"study.yaml": STUDY_OK + "colour: red\n"}),
        Case("study", "an unknown data set key", study, "colour", {"study.yaml": STUDY_OK.replace("{path: raw.csv}", "{path: raw.csv, colour: red}")}),
        Case("study", "a data set path that does not exist", study, "nothing.csv", {"study.yaml": STUDY_OK.replace("raw.csv", "nothing.csv")}),
        Case("study", "two models with one name", study, "tfidf-logreg", {"study.yaml": STUDY_OK.replace("[tfidf-logreg]", "[tfidf-logreg, tfidf-logreg]")}),
        Case("study", "an unknown protocol", study, "sideways", {"study.yaml": STUDY_OK.replace("in_domain]", "sideways]")}),
        Case("study", "an unknown model", study, "no-such-model", {"study.yaml": STUDY_OK.replace("[tfidf-logreg]", "[no-such-model]")}),
        Case("study", "a bad --set in a model", study, "colour", {"study.yaml": STUDY_OK.replace("[tfidf-logreg]", "[{name: t, model: tfidf-logreg, set: {train.colour: 1}}]")}),
        Case("study", "--out is a file", "study {tmp}/study.yaml --out {tmp}/raw.csv -q", "raw.csv", {"study.yaml": STUDY_OK}),
        Case("study", "no models", study, "models", {"study.yaml": STUDY_OK.replace("[tfidf-logreg]", "[]")}),
        Case("study", "test_only is not a yes/no", study, "test_only", {"study.yaml": STUDY_OK.replace("{path: raw.csv}", "{path: raw.csv, test_only: maybe}")}),
        Case("study", "a data set path is a folder of nothing", study, "empty", {"study.yaml": STUDY_OK.replace("raw.csv", "empty"), "empty/.keep": ""}),
        Case("models fetch", "an unknown model", "models fetch no-such-model -q", "no-such-model"),
        Case("models fetch", "a preset it does not assemble", "models fetch minilm-l6 --offline -q", "minilm-l6"),
        Case("models fetch", "--offline with an empty mirror", "models fetch mpnet-base --offline --mirror {tmp}/empty -q", "mpnet-base", {"empty/.keep": ""}),
        Case("models list", "an unknown option", "models list --all", "--all"),
        Case("data fetch", "an unknown data set", "data fetch no-such-data --cache-dir {tmp}/cache -q", "no-such-data"),
        Case("data fetch", "--offline with an empty cache", "data fetch welfake --offline --cache-dir {tmp}/cache -q", "welfake"),
        Case("data fetch", "--mirror does not exist", "data fetch welfake --offline --mirror {tmp}/nothing --cache-dir {tmp}/cache -q", "nothing"),
        Case("data fetch", "--mirror is a file", "data fetch welfake --offline --mirror {tmp}/raw.csv --cache-dir {tmp}/cache -q", "raw.csv"),
        Case("data fetch", "--cache-dir is a file", "data fetch welfake --offline --cache-dir {tmp}/raw.csv -q", "raw.csv"),
        Case("demo", "--bench-articles 2", "demo --out {tmp}/demo --bench-articles 2 -q", "--bench-articles"),
        Case("demo", "--cross-data does not exist", "demo --out {tmp}/demo --cross-data {tmp}/nothing.csv -q", "--cross-data"),
        Case("demo", "--out is not empty", "demo --out {tmp}/tfidf -q", "already exists and is not empty"),
        Case("demo", "--out is a file", "demo --out {tmp}/raw.csv -q", "is a file"),
    ]  # fmt: skip
    return cases


CASES: list[Case] = [*_split_cases(), *_run_file_cases(), *_train_cases(), *_other_cases()]


# ------------------------------------------------------------------------------ the world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A split dir, two evaluated TF-IDF runs on it, the 0.1.0 tiny BERT run, one tiny BERT run
    with its checkpoint, and a raw CSV."""
    root = tmp_path_factory.mktemp("bad-input-world")
    shutil.copytree(FIXTURES / "split", root / "split")
    shutil.copytree(FIXTURES / "bert-run", root / "bert")
    tiny = [o.format(cache=root / "token-cache") for o in TINY]
    train(root / "split", "scratch:bert", root / "tiny", overrides=tiny, quiet=True)
    for name, overrides in (("tfidf", ()), ("tfidf2", ("baseline.ngram_max=1",))):
        train(root / "split", "tfidf-logreg", root / name, overrides=overrides, quiet=True)
        evaluate(root / name, quiet=True)
    frames = [pd.read_csv(root / "split" / f"{s}.csv", dtype=str) for s in ("train", "test")]
    raw = pd.concat(frames)[["id", "title", "text", "label"]]
    raw.to_csv(root / "raw.csv", index=False)
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def _apply(world_copy: Path, edits: dict[str, Edit]) -> None:
    for rel, edit in edits.items():
        path = world_copy / rel
        if edit is None:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        elif callable(edit):
            edit(path)
        else:
            if path.is_dir():
                shutil.rmtree(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(edit, bytes):
                path.write_bytes(edit)
            else:
                path.write_text(edit, encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _argv(case: Case, tmp: Path, world: Path) -> list[str]:
    return shlex.split(case.argv.format(tmp=tmp, port=_free_port(), cache=world / "token-cache"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.command}: {c.id}" for c in CASES])
def test_a_bad_input_is_one_line_and_leaves_nothing_behind(
    case: Case,
    world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKENEWS_CACHE", str(tmp_path / "cache-root"))
    monkeypatch.setenv("FAKENEWS_DATA_MIRROR", str(tmp_path / "no-mirror"))
    monkeypatch.delenv("FAKENEWS_MODEL_MIRROR", raising=False)
    monkeypatch.delenv("FAKENEWS_API_KEY", raising=False)

    def no_server(self: uvicorn.Server, sockets: object = None) -> None:
        raise RuntimeError("serve got past its startup checks")

    monkeypatch.setattr(uvicorn.Server, "run", no_server)
    here = tmp_path / "w"
    shutil.copytree(world, here)
    _apply(here, case.edits)
    before = _snapshot(here)
    code = main(_argv(case, here, world))
    err = capsys.readouterr().err
    if case.accepted:
        assert (code, err.count("error:")) == (0, 0), err
        return
    lines = [line for line in err.splitlines() if line.strip()]
    if case.code == 2 and not case.says:  # a check that found a problem reports, not errs
        assert code == 2 and "Traceback" not in err and _snapshot(here) == before
        return
    assert code == case.code, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert case.says in lines[0], lines[0]
    assert _snapshot(here) == before, "the command left output behind or changed an input"


def test_the_corpus_covers_every_command_with_sixty_cases_or_more() -> None:
    commands = {c.command for c in CASES}
    assert len(CASES) >= 60
    assert {"prepare", "audit", "train", "evaluate", "benchmark", "compare", "export", "study",
            "models fetch", "models list", "data fetch", "demo", "serve", "predict"} <= commands  # fmt: skip
    assert len({(c.command, c.id) for c in CASES}) == len(CASES)
    assert all(c.says or c.accepted or c.code == 2 for c in CASES)


def test_the_counts_in_the_docs_are_the_corpus_table() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bad_input_counts

    section = bad_input_counts.counts_markdown()
    assert f"| **all** | **{len(CASES)}** |" in section
    assert section in DOCS.read_text(encoding="utf-8"), (
        "docs/errors.md is out of date: run `python benchmarks/bad_input_counts.py --write`"
    )


def test_a_train_that_failed_after_starting_leaves_no_run_for_the_next_to_call_interrupted(
    world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKENEWS_CACHE", str(tmp_path / "cache-root"))
    out = tmp_path / "run"
    tiny = ["--set", "model.size=tiny", "--set", "train.epochs=1", "-q"]
    argv = ["train", str(world / "split"), "-m", "scratch:bert", "-o", str(out), *tiny]
    blocked = ["--set", f"data.cache_dir={world / 'raw.csv'}"]  # a file: no cache under it
    assert main([*argv, *blocked]) == 1
    assert "raw.csv/tokenized: Not a directory" in capsys.readouterr().err
    assert not out.exists()
    again = ["train", str(world / "split"), "-m", "tfidf-logreg", "-o", str(out), "-q"]
    assert main(again) == 0  # not "holds an interrupted run"
    assert (out / "model").is_dir()
    err = capsys.readouterr().err  # may hold calibration's warning on this tiny, separable split
    assert "interrupted" not in err and "error" not in err
