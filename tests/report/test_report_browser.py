"""Open report.html in headless Chromium as its readers hold it: on a screen (every image
loads, no console error), on a 390 px phone (nothing wider than the screen outside the
scrolling tables, a sticky first column, figures open at full size on tap) and printed to PDF
on A4 and Letter (sane page count, no near-blank page, captions on their figure's page,
table sections never split). Screenshots and the PDFs' pages go to tests/artifacts/."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
#: printable area (CSS px at 96/in) of each paper with the report's 14 mm × 12 mm margins
PAPER = {"A4": (210, 297), "Letter": (215.9, 279.4)}
MM = 96 / 25.4

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def test_report_renders_in_chromium(browser, run_dir):
    errors: list[str] = []
    requests: list[str] = []
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
    page.close()
    n_figures = len(list((run_dir / "figures").glob("*.png")))
    assert n_figures >= 4 and len(widths) == n_figures and all(w > 0 for w in widths), widths
    assert errors == []
    assert screen_width <= 1280, screen_width  # no horizontal scrolling on a 1280 px screen
    assert print_width <= 705 and too_wide == [], (print_width, too_wide)
    assert nav_shown == "none"
    assert all(u.startswith(("file:", "data:")) for u in requests), requests


OUTSIDE_THE_SCREEN = """() => {
  const W = document.documentElement.clientWidth, bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.scroll')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 0.5 || r.left < -0.5))
      bad.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + r.right);
  }
  return bad;
}"""

STICKY = """() => {
  const w = document.querySelector('#table2 .scroll');
  const first = w.querySelector('tbody tr:not(:first-child) td:first-child');
  const third = w.querySelector('tbody tr:not(:first-child) td:nth-child(3)');
  const label = w.querySelector('th.section span');
  const sub = w.querySelector('thead tr:nth-child(2) th:first-child');
  const before = [first.getBoundingClientRect().left, third.getBoundingClientRect().left,
                  sub.getBoundingClientRect().left];
  w.scrollLeft = 150;
  const after = [first.getBoundingClientRect().left, third.getBoundingClientRect().left,
                 sub.getBoundingClientRect().left];
  return {scrolled: w.scrollLeft, before, after, wrapper: w.getBoundingClientRect().left,
          label: label.getBoundingClientRect().left};
}"""

ZOOMED = """(id) => {
  const z = document.getElementById(id), img = z.querySelector('img');
  const r = z.getBoundingClientRect();
  return {hash: location.hash, position: getComputedStyle(z).position,
          shown: img.getBoundingClientRect().width, natural: img.naturalWidth,
          box: [r.left, r.top, r.width, r.height],
          close: getComputedStyle(z.querySelector('.close')).display};
}"""


def test_report_on_a_390_px_phone(browser, run_dir):
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    page.goto((run_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(OUTSIDE_THE_SCREEN) == []
    # the wide tables scroll inside their wrapper, first column held in place
    wide = page.eval_on_selector_all(
        ".scroll", "ws => ws.filter(w => w.scrollWidth > w.clientWidth + 1)"
        ".map(w => [w.closest('section').id, getComputedStyle(w).overflowX])")
    assert ("table2", "auto") in [tuple(w) for w in wide], wide
    assert all(o == "auto" for _, o in wide), wide
    sticky = page.evaluate(STICKY)
    assert sticky["scrolled"] > 0
    assert sticky["after"][0] == pytest.approx(sticky["wrapper"], abs=1.5), sticky
    assert sticky["after"][1] < sticky["before"][1] - 100, sticky  # the rest moved
    assert sticky["after"][2] < sticky["before"][2] - 100, sticky  # a sub-header too
    assert sticky["wrapper"] <= sticky["label"] < sticky["wrapper"] + 20, sticky  # section
    # each figure is a link that opens it at full size, and back
    links = page.eval_on_selector_all(
        "section.figure figure img",
        "imgs => imgs.map(i => [i.closest('section').id, i.closest('a').getAttribute('href')])")
    n_figures = len(list((run_dir / "figures").glob("*.png")))
    assert len(links) == n_figures >= 4, links
    assert all(href == f"#{sid}-full" for sid, href in links), links
    page.click("#figure2 .zoom .open")
    z = page.evaluate(ZOOMED, "figure2-full")
    page.screenshot(path=str(ARTIFACTS / "report-phone-figure.png"))
    assert z["hash"] == "#figure2-full" and z["position"] == "fixed"
    assert z["shown"] == z["natural"] > PHONE["width"]  # full size, panned by the reader
    assert z["box"] == [0, 0, PHONE["width"], PHONE["height"]], z
    assert z["close"] == "block"
    page.click("#figure2-full .close")
    back = page.evaluate(ZOOMED, "figure2-full")
    assert back["hash"] == "#figure2" and back["position"] == "static"
    assert back["shown"] <= PHONE["width"]
    page.close()


def _page_texts(pdf: bytes, paper: str) -> list[str]:
    pdfium = pytest.importorskip("pypdfium2")
    doc = pdfium.PdfDocument(pdf)
    texts = []
    for i, pg in enumerate(doc):
        texts.append(pg.get_textpage().get_text_range())
        pg.render(scale=0.6).to_pil().save(ARTIFACTS / f"report-{paper}-{i + 1:02d}.png")
    return texts


def _ink_extent(pdf: bytes) -> list[float]:
    """Per page: how far down the page its content reaches (0 top, 1 bottom)."""
    pdfium = pytest.importorskip("pypdfium2")
    out = []
    for pg in pdfium.PdfDocument(pdf):
        img = pg.render(scale=0.3).to_pil().convert("L")
        w, h = img.size
        data = img.tobytes()
        rows = [y for y in range(h) if min(data[y * w:(y + 1) * w]) < 200]
        out.append((rows[-1] + 1) / h if rows else 0.0)
    return out


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\ufffe", "").replace("\u00ad", "")).strip()


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_report_printed(browser, run_dir, paper):
    width_mm, height_mm = PAPER[paper]
    page_w, page_h = (width_mm - 24) * MM, (height_mm - 28) * MM
    page = browser.new_page(viewport={"width": round(page_w), "height": round(page_h)})
    page.goto((run_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    page.emulate_media(media="print")
    css = page.evaluate("""() => ({
      block: [...document.querySelectorAll('tbody.block')].map(b => getComputedStyle(b).breakInside),
      thead: [...document.querySelectorAll('thead')].map(t => getComputedStyle(t).display),
      figure: [...document.querySelectorAll('figure')].map(f => getComputedStyle(f).breakInside),
      forced: [...document.querySelectorAll('body *')].filter(e => ['page', 'always'].includes(
          getComputedStyle(e).breakBefore)).length,
      height: document.documentElement.scrollHeight})""")
    captions = page.eval_on_selector_all(
        "section.figure", "ss => ss.map(s => [s.querySelector('h2').textContent, "
        "s.querySelector('figcaption').textContent])")
    pdf = page.pdf(format=paper, print_background=True)
    page.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report-{paper}.pdf").write_bytes(pdf)
    assert css["block"] and set(css["block"]) == {"avoid"}  # a table section is not split
    assert set(css["thead"]) == {"table-header-group"}    # headers repeat on each page
    assert set(css["figure"]) == {"avoid"} and css["forced"] == 0
    texts = _page_texts(pdf, paper)
    # sane page count: the content's height, with room for what breaks push down
    assert len(texts) <= math.ceil(css["height"] / page_h * 1.35) + 1, (len(texts), css)
    ink = _ink_extent(pdf)
    # no near-blank page but the last: a page may end early when a whole figure or table
    # section moves on, but never holds only a stray line or caption (under 15% of the page)
    assert all(x > 0.15 for x in ink[:-1]), ink
    pages = [_words(t) for t in texts]
    for title, caption in captions:
        words = _words(caption).split(" ")
        where = [i for i, t in enumerate(pages) if _words(title) in t]
        assert where, title
        head, tail = " ".join(words[:4]), " ".join(words[-3:])
        assert head in pages[where[0]] and tail in pages[where[0]], (paper, title)
