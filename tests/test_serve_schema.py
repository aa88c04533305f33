"""The OpenAPI schema says what the server does, and schemathesis (every check it has) agrees.

schemathesis runs in-process against the ASGI app (no socket), with a fixed seed, a bounded
number of examples per operation and its examples, coverage and fuzzing phases, once without a
key and once with one.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.engine import events, from_schema

from fakenews.serving import ServeLimits, create_app

KEY = "schema-key"
# Small limits keep every schema-valid body under the byte limit (3 x 2 fields x 500 characters,
# at most 12 bytes each when JSON-escaped, is 36 kB): a valid request is never a 413.
LIMITS = ServeLimits(max_body_bytes=100_000, max_articles=3, max_chars=500)
MAX_EXAMPLES = 40
REQUIRED_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
}


def _app(run: Path, api_key: str | None) -> Any:
    """The tiny TF-IDF run with its real model (it scores whatever text schemathesis makes)."""
    return create_app(run, api_key=api_key, limits=LIMITS)


def _schema(run: Path, api_key: str | None) -> dict[str, Any]:
    headers = {"X-API-Key": api_key} if api_key else {}
    return TestClient(_app(run, api_key)).get("/openapi.json", headers=headers).json()  # type: ignore[no-any-return]


def _operations(schema: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}


@dataclass
class Summary:
    """What one schemathesis run did: requests per operation and status, check outcomes."""

    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    checks: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def operations(self) -> set[str]:
        return {label for label, _ in self.statuses}

    def add(self, event: events.ScenarioFinished) -> None:
        recorder = event.recorder
        for interaction in recorder.interactions.values():
            if interaction.response is not None:
                self.statuses[(recorder.label, interaction.response.status_code)] += 1
        for nodes in recorder.checks.values():
            for check in nodes:
                self.checks[(check.name, str(check.status))] += 1
                if check.failure_info is not None:
                    failure = check.failure_info.failure
                    self.failures.append(f"{recorder.label} {check.name}: {failure.title}")


def run_schemathesis(app: Any, api_key: str | None) -> Summary:
    """Every check of schemathesis over every operation of ``app``'s schema."""
    headers = f'headers = {{ "X-API-Key" = "{api_key}" }}\n' if api_key else ""
    config = schemathesis.Config.from_str(
        headers
        + f"""
seed = 20261202
[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"
[phases.stateful]
enabled = false
"""
    )
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=config, headers={"X-API-Key": api_key} if api_key else {}
    )
    summary = Summary()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            summary.add(event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            summary.errors.append(str(getattr(event, "value", None) or event.exception))  # type: ignore[attr-defined]
        elif isinstance(event, events.EngineFinished):
            summary.stop_reason = str(event.stop_reason)
            summary.failures += [f.title for f in event.failures]
    return summary


# --------------------------------------------------------------------------- the schema itself


def test_the_key_is_a_security_requirement_only_when_the_server_has_one(
    tiny_baseline_run_dir: Path,
) -> None:
    open_schema = _schema(tiny_baseline_run_dir, None)
    assert "securitySchemes" not in open_schema["components"]
    operations = [op for item in open_schema["paths"].values() for op in item.values()]
    assert operations and all(
        "security" not in op and "401" not in op["responses"] for op in operations
    )
    keyed = _schema(tiny_baseline_run_dir, KEY)
    assert keyed["components"]["securitySchemes"] == {
        "APIKeyHeader": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "The key the server was started with (--api-key).",
        }
    }
    secured = {
        f"{method.upper()} {path}"
        for path, item in keyed["paths"].items()
        for method, op in item.items()
        if op.get("security") == [{"APIKeyHeader": []}] and "401" in op["responses"]
    }
    # Every operation but the two that never need the key (the key middleware's open paths).
    assert secured == _operations(keyed) - {"GET /health", "GET /login", "POST /login"}
    assert {"POST /predict", "GET /model"} <= secured
    assert "security" not in keyed["paths"]["/health"]["get"]
    assert set(keyed["paths"]["/login"]) == {"get", "post"}
    assert "security" not in keyed["paths"]["/login"]["post"]


def test_the_schema_states_the_limits_and_every_error_answer(tiny_baseline_run_dir: Path) -> None:
    schema = _schema(tiny_baseline_run_dir, None)
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    article = components["Article"]["properties"]
    assert article["text"] == {
        "type": "string",
        "maxLength": 500,
        "minLength": 1,
        "pattern": "\\S",
        "title": "Text",
        "description": "Body of the article: at least one character that is not whitespace.",
    }
    assert article["title"]["maxLength"] == 500 and "minLength" not in article["title"]
    assert components["Article"]["required"] == ["text"]
    assert components["Article"]["additionalProperties"] is False
    batch = components["Batch"]["properties"]["articles"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 3)
    assert components["ErrorOut"]["required"] == ["error"]
    assert set(components["ErrorBody"]["required"]) == {"code", "message"}
    predict = schema["paths"]["/predict"]["post"]["responses"]
    assert set(predict) == {"200", "400", "413", "415", "422", "500"}
    for status in ("400", "413", "415", "422", "500"):
        assert predict[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }
    assert set(schema["paths"]["/health"]["get"]["responses"]) == {"200", "413", "500"}
    keyed_predict = _schema(tiny_baseline_run_dir, KEY)["paths"]["/predict"]["post"]["responses"]
    assert set(keyed_predict) == {"200", "400", "401", "413", "415", "422", "500"}


# --------------------------------------------------------------------------- schemathesis


@pytest.mark.parametrize("api_key", [None, KEY], ids=["no-key", "with-key"])
def test_schemathesis_finds_no_failure(tiny_baseline_run_dir: Path, api_key: str | None) -> None:
    summary = run_schemathesis(_app(tiny_baseline_run_dir, api_key), api_key)
    ran = {name for name, _ in summary.checks}
    failed = {name for name, status in summary.checks if status != "success"}
    print(  # the summary for the record (pytest -s shows it)
        f"schemathesis ({'with' if api_key else 'no'} key): {sum(summary.statuses.values())} "
        f"requests, checks {sorted(ran)}, failed {sorted(failed)}, "
        f"statuses {sorted(summary.statuses.items())}"
    )
    assert summary.errors == [] and summary.failures == [] and failed == set()
    assert summary.stop_reason == "completed"
    assert ran >= REQUIRED_CHECKS and {"negative_data_rejection", "positive_data_acceptance"} <= ran
    # Every operation of the schema was tried.
    assert summary.operations == _operations(_schema(tiny_baseline_run_dir, api_key))
    assert {"POST /predict", "GET /model", "GET /health"} <= summary.operations
    if api_key:
        assert {"GET /login", "POST /login"} <= summary.operations
    # Both kinds of answer were exercised: predictions and refusals of invalid bodies.
    assert summary.statuses[("POST /predict", 200)] > 0
    assert summary.statuses[("POST /predict", 422)] > 0
    assert summary.statuses[("POST /predict", 415)] > 0
    if api_key:
        assert summary.statuses[("GET /model", 401)] > 0
        assert summary.statuses[("POST /login", 401)] > 0
