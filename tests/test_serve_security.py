"""The service keeps its key secret: a form sign-in, a signed expiring session cookie that is not
the key, no key in the access log, no CDN docs by default, no host paths, 415 for non-JSON."""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from itsdangerous.timed import TimestampSigner

from fakenews.cli import main
from fakenews.errors import FakeNewsError
from fakenews.serving import ServeLimits, create_app
from fakenews.serving.logs import redact_api_key, uvicorn_log_config
from live_server import live_uvicorn
from test_serve import FixedPredictor, assert_error

KEY = "s3cret-key-4711"
UNAUTHORIZED = (
    "missing or wrong API key; send it in the X-API-Key header (in a browser, sign in at /login)."
)
EXPIRED = (
    "the session cookie has expired or is not valid; sign in again at /login "
    "(API clients: send the X-API-Key header)."
)
WRONG_KEY = "wrong API key; check it and sign in again at /login."
NO_JSON_TYPE = (
    "request has no Content-Type; send JSON with the header Content-Type: application/json."
)
HOUR = 3600


def keyed_client(run: Path, **kwargs: Any) -> TestClient:
    base_url = kwargs.pop("base_url", "http://testserver")
    app = create_app(run, api_key=KEY, predictor=FixedPredictor(), **kwargs)
    return TestClient(app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False)


def sign_in(client: TestClient, key: str = KEY) -> httpx.Response:
    return client.post("/login", data={"api_key": key})


def cookie_attributes(set_cookie: str) -> tuple[str, str, set[str]]:
    """(name, value, attributes such as 'HttpOnly', 'Max-Age=43200') of one Set-Cookie."""
    first, *attributes = [part.strip() for part in set_cookie.split(";")]
    name, _, value = first.partition("=")
    return name, value, set(attributes)


@pytest.fixture()
def client(tiny_baseline_run_dir: Path) -> TestClient:
    return keyed_client(tiny_baseline_run_dir)


def sign_in_ago(client: TestClient, seconds: int) -> None:
    """Sign in with a session token issued ``seconds`` ago (the signer's clock set back)."""
    real = TimestampSigner.get_timestamp
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - seconds)
        assert sign_in(client).status_code == 303


# --------------------------------------------------------------------------- sign-in and the cookie


def test_the_sign_in_form_posts_the_key_and_gets_a_session_cookie_that_is_not_the_key(
    client: TestClient,
) -> None:
    form = client.get("/login")
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="login">' in form.text and 'name="api_key"' in form.text
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "./"
    name, value, attributes = cookie_attributes(response.headers["set-cookie"])
    assert name == "fakenews_session" and value and KEY not in value
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"} <= attributes
    assert "Secure" not in attributes  # plain http
    # The cookie alone now lets the browser in: the page, its requests and the schema.
    assert client.get("/").status_code == 200
    assert client.get("/model").json()["api_key_required"] is True
    assert client.post("/predict", json={"text": "aliens"}).json()["label_name"] == "fake"
    assert client.get("/openapi.json").status_code == 200
    # A wrong header is not rescued by a good cookie.
    assert_error(client.get("/model", headers={"X-API-Key": "wrong"}), 401, "unauthorized")


def test_the_session_cookie_is_secure_over_https(tiny_baseline_run_dir: Path) -> None:
    client = keyed_client(tiny_baseline_run_dir, base_url="https://testserver")
    _, _, attributes = cookie_attributes(sign_in(client).headers["set-cookie"])
    assert {"Secure", "HttpOnly", "SameSite=Strict"} <= attributes
    assert client.get("/model").status_code == 200


def test_a_tampered_cookie_or_the_raw_key_as_cookie_is_a_401(client: TestClient) -> None:
    token = cookie_attributes(sign_in(client).headers["set-cookie"])[1]
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), KEY, "x.y.z"):
        client.cookies.clear()
        client.cookies.set("fakenews_session", forged)
        response = client.get("/model")
        assert_error(response, 401, "unauthorized", EXPIRED)
        # ... and the browser is told to drop it.
        assert cookie_attributes(response.headers["set-cookie"])[:2] == ("fakenews_session", "")
    client.cookies.clear()
    client.cookies.set("fakenews_api_key", KEY)  # the old cookie, which held the key itself
    assert_error(client.get("/model"), 401, "unauthorized", UNAUTHORIZED)


def test_a_session_expires_after_12_hours_by_default(client: TestClient) -> None:
    sign_in_ago(client, 12 * HOUR - 60)
    assert client.get("/model").status_code == 200  # 11 h 59 min old
    client.cookies.clear()
    sign_in_ago(client, 12 * HOUR + 1)
    assert_error(client.get("/model"), 401, "unauthorized", EXPIRED)


def test_session_hours_sets_the_expiry(tiny_baseline_run_dir: Path) -> None:
    client = keyed_client(tiny_baseline_run_dir, session_hours=1)
    assert "Max-Age=3600" in cookie_attributes(sign_in(client).headers["set-cookie"])[2]
    client.cookies.clear()
    sign_in_ago(client, 2 * HOUR)
    assert_error(client.get("/model"), 401, "unauthorized", EXPIRED)
    for bad, message in (
        (0, "--session-hours must be a positive number; found 0."),
        (-1.5, "--session-hours must be a positive number; found -1.5."),
        (float("inf"), "--session-hours must be a finite number; found inf."),
    ):
        with pytest.raises(FakeNewsError, match=re.escape(message)):
            create_app(
                tiny_baseline_run_dir, api_key=KEY, session_hours=bad, predictor=FixedPredictor()
            )


def test_a_restart_or_a_new_key_ends_every_session(tiny_baseline_run_dir: Path) -> None:
    salt = b"s" * 32
    first = keyed_client(tiny_baseline_run_dir, session_salt=salt)
    token = cookie_attributes(sign_in(first).headers["set-cookie"])[1]

    def accepts(app_client: TestClient) -> bool:
        app_client.cookies.set("fakenews_session", token)
        return app_client.get("/model").status_code == 200

    assert accepts(keyed_client(tiny_baseline_run_dir, session_salt=salt))  # same secret
    assert not accepts(keyed_client(tiny_baseline_run_dir))  # a restart draws a new salt
    other_key = TestClient(
        create_app(
            tiny_baseline_run_dir,
            api_key=KEY + "-new",
            session_salt=salt,
            predictor=FixedPredictor(),
        )
    )
    assert not accepts(other_key)


def test_login_refuses_bad_forms_with_one_line_json_errors(tiny_baseline_run_dir: Path) -> None:
    client = keyed_client(tiny_baseline_run_dir, limits=ServeLimits(max_body_bytes=200))
    response = sign_in(client, "wrong")
    assert_error(response, 401, "unauthorized", WRONG_KEY)
    assert "set-cookie" not in response.headers
    error = assert_error(
        client.post("/login", data={"key": KEY}),
        422,
        "invalid_form",
        "api_key: Field required; send the form field api_key=KEY.",
    )
    assert error["details"] == [{"loc": ["api_key"], "type": "missing", "msg": "Field required"}]
    form = "a form with the header Content-Type: application/x-www-form-urlencoded."
    assert_error(
        client.post("/login", json={"api_key": KEY}),
        415,
        "unsupported_media_type",
        f"request body has Content-Type application/json; send {form}",
    )
    assert_error(
        client.post("/login", content=f"api_key={KEY}".encode()),
        415,
        "unsupported_media_type",
        f"request has no Content-Type; send {form}",
    )
    malformed = (
        "request body is not a URL-encoded UTF-8 form; send api_key=KEY "
        "with the header Content-Type: application/x-www-form-urlencoded."
    )
    form_type = {"content-type": "application/x-www-form-urlencoded"}
    for body in (b"api_key=%FF", b"api_key=\xff", b"&".join([b"a=1"] * 17)):
        response = client.post("/login", content=body, headers=form_type)
        assert_error(response, 400, "malformed_form", malformed)
    assert_error(
        client.post("/login", content=b"api_key=" + b"k" * 300, headers=form_type),
        413,
        "body_too_large",
    )
    response = client.put("/login")
    assert_error(
        response, 405, "method_not_allowed", "PUT is not allowed on /login; see /openapi.json."
    )
    assert response.headers["allow"] == "GET, POST"
    assert "set-cookie" not in response.headers


def test_without_a_key_there_is_no_login(tiny_baseline_run_dir: Path) -> None:
    client = TestClient(create_app(tiny_baseline_run_dir, predictor=FixedPredictor()))
    assert_error(client.get("/login"), 404, "not_found")
    assert_error(client.post("/login", data={"api_key": KEY}), 404, "not_found")


def test_the_old_address_bar_link_redirects_to_the_page_without_the_key(
    client: TestClient,
) -> None:
    response = client.get(f"/?api_key={KEY}")
    assert response.status_code == 303 and response.headers["location"] == "./"
    name, value, attributes = cookie_attributes(response.headers["set-cookie"])
    assert name == "fakenews_session" and KEY not in value and "HttpOnly" in attributes
    assert client.get("/model").status_code == 200
    client.cookies.clear()
    response = client.get(f"/model?view=1&api_key={KEY}&x=a+b")
    assert response.status_code == 303 and response.headers["location"] == "./model?view=1&x=a+b"
    client.cookies.clear()
    assert client.get(f"/?api%5Fkey={KEY}").status_code == 303  # spelled as the app reads it
    client.cookies.clear()
    response = client.get("/?api_key=wrong")
    assert_error(response, 401, "unauthorized", UNAUTHORIZED)
    assert "set-cookie" not in response.headers
    # The key in the query is read on a GET only.
    assert_error(client.post(f"/predict?api_key={KEY}", json={"text": "x"}), 401, "unauthorized")


# --------------------------------------------------------------------------- the access log


def test_the_key_never_reaches_the_access_log_of_a_real_server(
    tiny_baseline_run_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    config = uvicorn_log_config()  # what `fakenews serve` gives uvicorn
    config["handlers"]["access"] = {
        "class": "logging.FileHandler",
        "filename": str(log),
        "formatter": "access",
    }
    app = create_app(tiny_baseline_run_dir, api_key=KEY, predictor=FixedPredictor())
    statuses = []
    try:
        with live_uvicorn(app, log_config=config, log_level="info", access_log=True) as url:
            with httpx.Client(base_url=url, follow_redirects=False) as browser:
                statuses.append(browser.get("login").status_code)
                statuses.append(browser.post("login", data={"api_key": KEY}).status_code)
                statuses.append(browser.get("").status_code)
                statuses.append(browser.post("predict", json={"text": "aliens"}).status_code)
            for target in (
                f"?api_key={KEY}",
                f"model?api_key={KEY}&x=1",
                f"?api%5Fkey={KEY}",
                f"?API_KEY={KEY}",
                f"?api_key={KEY}-typo",
            ):
                with httpx.Client(base_url=url, follow_redirects=False) as old_link:
                    statuses.append(old_link.get(target).status_code)
            # Behind a TLS proxy on this machine (trusted by default) the cookie is Secure.
            proxied = httpx.post(
                url + "login", data={"api_key": KEY}, headers={"X-Forwarded-Proto": "https"}
            )
            assert "Secure" in cookie_attributes(proxied.headers["set-cookie"])[2]
    finally:
        for handler in logging.getLogger("uvicorn.access").handlers:
            handler.close()
    assert statuses == [200, 303, 200, 200, 303, 303, 303, 401, 401]
    text = log.read_text(encoding="utf-8")
    assert len(text.splitlines()) == len(statuses) + 1
    assert KEY not in text and "s3cret" not in text
    for masked in (
        '"GET /?api_key=*** HTTP',
        "/model?api_key=***&x=1",
        "/?api%5Fkey=***",
        "/?API_KEY=***",
    ):
        assert masked in text, text


def test_redaction_masks_every_spelling_of_the_parameter_and_nothing_else() -> None:
    assert redact_api_key("/?api_key=K&x=1") == "/?api_key=***&x=1"
    assert redact_api_key("/a?x=1&Api%5FKey=K&api_key=K2") == "/a?x=1&Api%5FKey=***&api_key=***"
    assert redact_api_key("/?api_key") == "/?api_key=***"
    assert redact_api_key("/path?query=api_key") == "/path?query=api_key"
    assert redact_api_key("no query here") == "no query here"


# --------------------------------------------------------------------------- docs, paths, media types


def test_docs_are_off_by_default_and_the_schema_stays_behind_the_key(
    tiny_baseline_run_dir: Path,
) -> None:
    client = keyed_client(tiny_baseline_run_dir)
    assert_error(client.get("/openapi.json"), 401, "unauthorized", UNAUTHORIZED)
    good = {"X-API-Key": KEY}
    assert client.get("/openapi.json", headers=good).json()["info"]["title"] == "fakenews"
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert_error(client.get(path, headers=good), 404, "not_found")
    # With --docs they are served, and (said in the docs) Swagger UI's scripts come from a CDN.
    with_docs = keyed_client(tiny_baseline_run_dir, docs=True)
    docs = with_docs.get("/docs", headers=good)
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.text
    assert with_docs.get("/redoc", headers=good).status_code == 200
    assert_error(with_docs.get("/docs"), 401, "unauthorized")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_model_and_health_show_no_host_paths(tiny_baseline_run_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "my-run"
    shutil.copytree(tiny_baseline_run_dir, run)
    data = tmp_path / "data" / "politifact"
    (run / "metrics").mkdir(exist_ok=True)
    metrics = {"n": 12, "accuracy": 0.75, "data_path": str(data / "test.csv")}
    (run / "metrics" / "test.json").write_text(json.dumps(metrics), encoding="utf-8")
    card = {
        "data": {"split_dir": str(data), "inputs": [{"path": str(Path.home() / "x.csv")}]},
        "notes": f"trained from {data}/train.csv on this machine; see https://example.org/a/b.",
        str(run): "a path as a key",
    }
    (run / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    client = TestClient(create_app(run, predictor=FixedPredictor()))
    info = client.get("/model").json()
    assert info["run_dir"] == "my-run"
    assert info["model_card"]["data"]["split_dir"] == "politifact"
    assert info["model_card"]["data"]["inputs"] == [{"path": "x.csv"}]
    assert info["model_card"]["notes"] == (
        "trained from train.csv on this machine; see https://example.org/a/b."
    )
    health = client.get("/health").json()
    for answer in (info, health):
        rooted = [s for s in _strings(answer) if re.search(r"(^|\s)(/|~/|[A-Za-z]:\\)\S", s)]
        assert rooted == []
    schema = client.get("/openapi.json").text  # its own "/predict" paths are rooted, by design
    for text in (json.dumps(info), json.dumps(health), schema):
        assert str(tmp_path) not in text and str(Path.home()) not in text


def test_predict_without_a_json_content_type_is_415(tiny_baseline_run_dir: Path) -> None:
    stub = FixedPredictor()
    client = TestClient(create_app(tiny_baseline_run_dir, predictor=stub))
    body = json.dumps({"text": "aliens"}).encode()
    assert_error(client.post("/predict", content=body), 415, "unsupported_media_type", NO_JSON_TYPE)
    assert_error(client.post("/predict"), 415, "unsupported_media_type", NO_JSON_TYPE)
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        assert_error(
            client.post("/predict", content=body, headers={"content-type": media}),
            415,
            "unsupported_media_type",
            f"request body has Content-Type {media}; send JSON with the header Content-Type: application/json.",
        )
    assert stub.calls == []
    json_utf8 = {"content-type": "application/json; charset=utf-8"}
    assert client.post("/predict", content=body, headers=json_utf8).json()["label_name"] == "fake"
    # With a key, a request without it learns only 401, whatever its Content-Type.
    keyed = keyed_client(tiny_baseline_run_dir)
    assert_error(keyed.post("/predict", content=body), 401, "unauthorized", UNAUTHORIZED)


# --------------------------------------------------------------------------- the CLI


def test_serve_passes_docs_session_hours_and_trusted_proxies_on(
    tiny_baseline_run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: configs.append(self.config))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["serve", str(tiny_baseline_run_dir), "--port", str(port), "--quiet", "--api-key", KEY]
    extra = ["--docs", "--session-hours", "2", "--forwarded-allow-ips", "10.1.2.3"]
    assert main([*args, *extra]) == 0
    (config,) = configs
    assert config.forwarded_allow_ips == "10.1.2.3"
    client = TestClient(config.app, follow_redirects=False)
    assert "Max-Age=7200" in sign_in(client).headers["set-cookie"]
    assert client.get("/docs").status_code == 200


def test_serve_refuses_a_bad_session_length_in_one_line(
    tiny_baseline_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["serve", str(tiny_baseline_run_dir), "--port", str(port), "--api-key", KEY]
    assert main([*args, "--session-hours", "0", "--quiet"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --session-hours must be a positive number; found 0.0."
    )
