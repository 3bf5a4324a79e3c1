"""Open report.html in headless Chromium: every image loads, no console error, a screenshot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.browser
def test_report_renders_in_chromium(run_dir):
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto((run_dir / "report.html").as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
            screen_width = page.evaluate("document.documentElement.scrollWidth")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            # printed on A4 (about 705 CSS px between the margins) nothing sticks out
            page.set_viewport_size({"width": 705, "height": 1000})
            page.emulate_media(media="print")
            print_width = page.evaluate("document.documentElement.scrollWidth")
            too_wide = page.eval_on_selector_all(
                "table", "ts => ts.filter(t => t.scrollWidth > 705).map(t => t.closest("
                "'section').id)")
            nav_shown = page.eval_on_selector("nav", "n => getComputedStyle(n).display")
        finally:
            browser.close()
    n_figures = len(list((run_dir / "figures").glob("*.png")))
    assert n_figures >= 4 and len(widths) == n_figures and all(w > 0 for w in widths), widths
    assert errors == []
    assert screen_width <= 1280, screen_width  # no horizontal scrolling on a 1280 px screen
    assert print_width <= 705 and too_wide == [], (print_width, too_wide)
    assert nav_shown == "none"
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
