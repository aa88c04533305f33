"""The web page, served by a real uvicorn on 127.0.0.1 and driven in headless Chromium.

Needs Debian's ``chromium`` (``make browser-deps`` installs it as root) and Playwright's Python
package (a dev dependency). It is skipped only when no Chromium binary exists.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_server import live_uvicorn

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FAKENEWS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000
ARTICLE_TITLE = "Senate passes bipartisan infrastructure bill"
ARTICLE = (
    "WASHINGTON - The Senate on Tuesday passed a bipartisan infrastructure bill that provides "
    "funding for roads, bridges and broadband, sending the measure to the House."
)


KEY = "s3cret-key"


@pytest.fixture(scope="module")
def served_run(tiny_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny run with a measured-accuracy file."""
    run = tmp_path_factory.mktemp("browser") / "run"
    shutil.copytree(tiny_run_dir, run, ignore=shutil.ignore_patterns("checkpoints"))
    (run / "metrics").mkdir(exist_ok=True)
    (run / "metrics" / "test.json").write_text(
        json.dumps({"n": 12, "accuracy": 0.75}), encoding="utf-8"
    )
    return run


@pytest.fixture(scope="module")
def server(served_run: Path) -> Iterator[str]:
    """uvicorn serving the run on a free port, no API key."""
    from fakenews.serving import create_app

    with live_uvicorn(create_app(served_run)) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_server(served_run: Path) -> Iterator[str]:
    """The same run served with --api-key."""
    from fakenews.serving import create_app

    with live_uvicorn(create_app(served_run, api_key=KEY, docs=True)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}; install it with `make browser-deps` (apt-get install chromium, as root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_paste_an_article_and_read_the_verdict(
    server: str, browser: object, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 1000})  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    # The measured accuracy comes from /model (metrics/test.json of the run).
    page.wait_for_function("document.getElementById('m-acc').textContent.includes('%')")
    assert page.text_content("#m-acc") == "75.0 %"
    assert page.text_content("#m-name") == "scratch:bert (transformer, torch)"
    assert page.text_content("#m-n") == "12 (metrics/test.json)"

    page.fill("#title", ARTICLE_TITLE)
    page.fill("#text", ARTICLE)
    page.click("#check")
    page.wait_for_selector("#verdict.show")
    label = page.text_content("#label")
    prob = page.text_content("#prob") or ""
    assert label in ("FAKE", "REAL")
    assert prob.startswith("probability of fake: ") and prob.endswith(" %")
    shown = float(prob.removeprefix("probability of fake: ").removesuffix(" %"))
    assert 0.0 <= shown <= 100.0
    # The page shows what the API answers for the same article.
    answer = page.evaluate(
        """async ([title, text]) => {
            const r = await fetch('predict', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify({title, text})});
            return await r.json();
        }""",
        [ARTICLE_TITLE, ARTICLE],
    )
    assert label == answer["label_name"].upper()
    assert shown == pytest.approx(100 * answer["prob_fake"], abs=0.05)
    page.screenshot(path=str(tmp_path / "verdict.png"), full_page=True)
    if os.environ.get("FAKENEWS_SCREENSHOT"):
        shutil.copy(tmp_path / "verdict.png", os.environ["FAKENEWS_SCREENSHOT"])
    assert (tmp_path / "verdict.png").stat().st_size > 0


def test_blank_article_shows_a_message(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    page.fill("#text", "   ")
    page.click("#check")
    page.wait_for_selector("#error.show")
    assert page.text_content("#error") == "Paste the article's text first."
    # A refusal by the server (422: over the 100,000-character limit) is shown as its message.
    page.evaluate("document.getElementById('text').value = 'x'.repeat(100001)")
    page.click("#check")
    page.wait_for_function("document.getElementById('error').textContent.includes('at most')")
    assert page.text_content("#error") == "text: String should have at most 100000 characters"


def test_sign_in_with_the_api_key_form(keyed_server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    # Without the key even the page is refused, with the one-line JSON error.
    response = page.goto(keyed_server)
    assert response is not None and response.status == 401
    assert "sign in at /login" in (page.text_content("body") or "")
    # The form posts the key (never in a URL) and is sent on to the page with a session cookie.
    page.goto(keyed_server + "login")
    page.fill("#api_key", KEY)
    with page.expect_navigation():
        page.click("#sign-in")
    assert page.url == keyed_server
    page.wait_for_function("document.getElementById('m-acc').textContent.includes('%')")
    (cookie,) = page.context.cookies()
    assert cookie["name"] == "fakenews_session" and KEY not in cookie["value"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    page.fill("#text", ARTICLE)
    page.click("#check")
    page.wait_for_selector("#verdict.show")
    assert page.text_content("#label") in ("FAKE", "REAL")
    assert page.is_hidden("#key-row")
    # /docs (served with --docs; its Swagger UI scripts come from a CDN, so it cannot render
    # offline) and the /openapi.json it fetches are let in by the same cookie.
    response = page.goto(keyed_server + "docs")
    assert response is not None and response.status == 200
    status = page.evaluate("async () => (await fetch('openapi.json')).status")
    assert status == 200


def test_the_old_address_bar_link_redirects_without_the_key(
    keyed_server: str, browser: object
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    response = page.goto(keyed_server + "?api_key=" + KEY)
    assert response is not None and response.status == 200
    assert page.url == keyed_server  # the redirect dropped the key from the address bar
    page.wait_for_function("document.getElementById('m-acc').textContent.includes('%')")
    assert [c["name"] for c in page.context.cookies()] == ["fakenews_session"]


def test_the_verdict_highlights_the_words_behind_it(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    page.goto(server)
    page.fill("#title", ARTICLE_TITLE)
    page.fill("#text", ARTICLE)
    page.click("#check")
    page.wait_for_selector("#words span.w")
    words = page.eval_on_selector_all("#words span.w", "spans => spans.map(s => s.textContent)")
    assert words[:3] == ["Senate", "passes", "bipartisan"]
    colours = page.eval_on_selector_all(
        "#words span.w", "spans => spans.map(s => s.style.background)"
    )
    assert all(
        c.startswith("rgba(220, 38, 38") or c.startswith("rgba(37, 99, 235") for c in colours
    )
    assert (page.text_content("#words") or "").startswith("Words that weighed most")
