"""Helpers for the report tests: build a small report; open a file in Debian's headless Chromium through
Playwright (never a downloaded browser)."""

from __future__ import annotations

import os

import pytest

from explain import build_report
from explain.report.build import provenance

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]


def require_chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must apt-get install chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")


def open_page(path, screenshot=None):
    """Load a file; return console errors, requested URLs, dialogs, section visibility and texts."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    out = {"errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: out["errors"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: out["errors"].append(str(exc)))
        page.on("request", lambda r: out["requests"].append(r.url))
        page.on("dialog", lambda d: (out["dialogs"].append(d.message), d.dismiss()))
        page.goto("file://" + os.path.abspath(path))
        page.wait_for_load_state("load")
        sections = page.locator("section")
        out["n_sections"] = sections.count()
        out["visible"] = [sections.nth(i).is_visible() for i in range(out["n_sections"])]
        out["headings"] = page.locator("h2").all_inner_texts()
        out["text"] = page.inner_text("body")
        if screenshot:
            page.screenshot(path=screenshot, full_page=False)
        browser.close()
    return out


def make_report(inputs, timestamp=False):
    cmp, image_results, X, models = inputs
    prov = provenance(X=X.to_numpy(float), models=models, seed=0, parameters={"rows": len(X)},
                      command="pytest", timestamp=timestamp)
    return build_report(cmp, title="test report", provenance_fields=prov, images=image_results)
