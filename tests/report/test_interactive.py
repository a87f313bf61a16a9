"""The page's small script under a strict CSP: search, sort, expand/collapse, jump, dark mode, print, no-JS.

The report is built from a quick logistic regression (no zoo), so the fast tests stay fast; the browser
tests open it in Debian's Chromium through Playwright and never allow a request beyond the file itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from explain import build_report, explain
from explain.report.build import provenance
from explain.report.render import report_script

from report_helpers import CHROMIUM, FLAGS, require_chromium

N_ROWS = 12
IDS = [f"id{100 + i}" for i in range(N_ROWS)]  # an id column, not positions


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 4)), columns=["age", "income", "a very long feature name that wraps "
                                                        "onto several lines", "<b>bold</b>"])
    y = np.where(X["age"] + 0.5 * X["income"] > 0, "yes", "no")
    model = LogisticRegression().fit(X, y)
    result = explain(model, X.iloc[:N_ROWS], methods=["shap", "coefficients"], background=X.iloc[20:60],
                     name="glm")
    prov = provenance(X=X, models={"glm": model}, seed=0, command="pytest", timestamp=False)
    return build_report(result, title="interactive", provenance_fields=prov, row_ids=IDS), result


def _inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, flags=re.S)


def test_csp_pins_the_inline_script_by_its_sha256(report):
    html = report[0].to_html()
    scripts = _inline_scripts(html)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1] and "default-src 'none'" in csp
    assert scripts[0] == report_script()[0]
    assert len(scripts[0].encode()) < 30_000
    assert "addEventListener" in scripts[0] and not re.search(r"\son[a-z]+=\"", html)


def test_every_row_is_reachable_with_its_numbers(report):
    rep, result = report
    html = rep.to_html()
    shap = result["shap"]
    for i, rid in enumerate(IDS):
        assert f'href="#m0-row-{i}"' in html and f'id="m0-row-{i}"' in html
        assert html.count(f'data-row-id="{rid}"') == 2  # its line in the predictions table and its view
        fx = shap.base_values[i] + shap.values[i].sum()
        assert f"f(x) = {fx:.4g}" in html and f"E[f(X)] = {shap.base_values[i]:.4g}" in html
        for v in shap.values[i]:  # every contribution's number
            assert f"{v:+.4g}" in html
    assert "explained class: yes" in html or "explained class: no" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    md = rep.to_markdown()
    assert all(f"row {rid}" in md for rid in IDS)


def test_row_ids_must_match_the_rows(report):
    with pytest.raises(ValueError, match="one id per row"):
        build_report(report[1], row_ids=IDS[:3])


def test_long_labels_wrap_instead_of_being_cut():
    from explain.report.figures import _label

    name = "a very long feature name that wraps onto several lines"
    assert _label(name, 20).replace("\n", " ") == name and "…" not in _label(name, 20)


# -- in the browser ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_file(report, tmp_path_factory):
    return report[0].save(tmp_path_factory.mktemp("interactive") / "report.html")


def _open(path, *, javascript=True, color_scheme="light", media="screen"):
    """A browser page on ``path`` whose every request other than the file itself is aborted and recorded."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    log = {"errors": [], "requests": []}
    url = "file://" + os.path.abspath(path)
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    context = browser.new_context(java_script_enabled=javascript, color_scheme=color_scheme,
                                  viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log["errors"].append(str(exc)))

    def route(r):
        log["requests"].append(r.request.url)
        (r.continue_() if r.request.url == url else r.abort())
    page.route("**/*", route)
    page.emulate_media(media=media, color_scheme=color_scheme)
    page.goto(url)
    page.wait_for_load_state("load")

    def close():
        browser.close()
        pw.stop()
    return page, log, url, close


def _visible_ids(page, selector):
    return [el.get_attribute("data-row-id") for el in page.locator(selector).all() if el.is_visible()]


@pytest.mark.slow
def test_search_sort_and_jump_with_no_request_and_no_error(page_file):
    page, log, url, close = _open(page_file)
    try:
        assert page.locator("#controls").is_visible()  # the script ran: the CSP hash let it
        assert _visible_ids(page, "table.predictions tr[data-row-id]") == IDS
        page.fill("#row-search", "id103")
        assert _visible_ids(page, "[data-row-id]") == ["id103", "id103"]
        assert "1 of 12 rows shown" in page.inner_text("#row-count")
        page.fill("#row-search", "id101, id110")
        assert _visible_ids(page, "table.predictions tr[data-row-id]") == ["id101", "id110"]
        page.fill("#row-search", "")
        assert len(_visible_ids(page, "details.row-view")) == N_ROWS

        header = page.locator("table.predictions th").nth(1)  # f(x)
        cells = page.locator("table.predictions tbody tr td:nth-child(2)")

        def column():
            return [float(t) for t in cells.all_inner_texts()]
        header.click()
        assert column() == sorted(column()) and header.get_attribute("aria-sort") == "ascending"
        header.click()
        assert column() == sorted(column(), reverse=True) and header.get_attribute("aria-sort") == "descending"

        page.click("#collapse-all")
        assert page.locator("details[open]").count() == 0
        page.click("#expand-all")
        assert page.locator("details").count() == page.locator("details[open]").count()
        page.click("#collapse-all")
        page.click('a[href="#m0-row-7"]')  # a link of the table opens the row's view
        assert page.locator("#m0-row-7").get_attribute("open") is not None
        page.select_option("#jump-select", "s1")
        assert log["errors"] == []
        assert log["requests"] == [url]
    finally:
        close()


@pytest.mark.slow
def test_dark_mode_and_print_stylesheet(page_file):
    page, log, _, close = _open(page_file, color_scheme="dark")
    try:
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        rgb = [int(v) for v in re.findall(r"\d+", background)[:3]]
        assert sum(rgb) < 150, background  # dark
        text = [int(v) for v in re.findall(r"\d+", page.evaluate("getComputedStyle(document.body).color"))[:3]]
        assert sum(text) > 500  # light text on it
        assert log["errors"] == []
    finally:
        close()
    page, log, _, close = _open(page_file, media="print")
    try:
        assert not page.locator("#controls").is_visible() and not page.locator("#jump-menu").is_visible()
        assert page.locator(".figure").first.is_visible()  # figures stay on the page
        assert page.locator("table.predictions").is_visible()
    finally:
        close()


@pytest.mark.slow
def test_readable_without_javascript(page_file):
    page, log, url, close = _open(page_file, javascript=False)
    try:
        assert not page.locator("#controls").is_visible()  # controls that need the script stay hidden
        assert page.locator("#jump-menu").is_visible()  # the jump menu is plain links
        assert page.locator("table.predictions").is_visible()
        assert _visible_ids(page, "table.predictions tr[data-row-id]") == IDS
        assert page.locator("details.row-view summary").first.is_visible()
        body = page.inner_text("body")
        assert "f(x) =" in body and "E[f(X)] =" in body and "Global importance" in body
        page.locator("details.row-view summary").nth(5).click()  # <details> opens without JavaScript
        assert page.locator("#m0-row-5 table").is_visible()
        assert log["requests"] == [url]
    finally:
        close()


@pytest.mark.slow
def test_screenshot_of_the_study_first_screen(tmp_path):
    """The committed study, rendered and photographed: an artefact to look at (``$EXPLAIN_ARTEFACTS``).
    The demo report's screenshot is taken by the demo test (tests/test_datasets_and_cli.py)."""
    from pathlib import Path

    from PIL import Image

    from explain.study import load_study
    from helpers import save_screenshot

    records = Path(__file__).resolve().parents[2] / "reports" / "study.json"
    if not records.exists():
        pytest.skip("no committed study records (reports/study.json)")
    page = load_study(records).report(timestamp=False).save(tmp_path / "study.html")
    shot = save_screenshot(page, "study_first_screen.png", tmp_path)
    assert np.asarray(Image.open(shot).convert("L"), dtype=float).std() > 10  # not blank
    page_, log, _, close = _open(page)  # the answers beside the forest plot; no row search on a page without rows
    try:
        text = page_.locator("#s1 .side-text").bounding_box()
        figure = page_.locator("#s1 .side-figure svg").bounding_box()
        assert figure["x"] >= text["x"] + text["width"] - 1  # to the right of the answers ...
        assert figure["y"] < text["y"] + text["height"]  # ... on the same screen band, not below them
        assert not page_.locator("#row-search").is_visible() and page_.locator("#jump-select").is_visible()
        assert log["errors"] == []
    finally:
        close()
