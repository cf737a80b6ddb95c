"""The report in a real headless Chromium: images load, blurring reveals, filters hide rows.

Also checks what a static parse cannot: the page's own script runs under its
Content Security Policy, throws nothing, opens no dialog (the hostile prompt
stays text), and requests nothing but the file itself. The pages are rendered
from a real run's results (tests/report/fixtures, see generate.py there).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from clipsafety.report.html import write_report

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
FIXTURES = Path(__file__).parent.parent / "report" / "fixtures"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _blur_between(results: dict) -> float:
    """A threshold with flagged images above it and plain ones below (toy images score low on NSFW)."""
    scores = sorted({s["nsfw"] for c in results["cases"] for s in c["seeds"] if s["nsfw"] is not None})
    return scores[len(scores) // 2]


@pytest.fixture(scope="module")
def report_url(tmp_path_factory):
    results = _fixture("results.json")
    results["cases"][0]["prompt"] = HOSTILE  # a row of its own: prompts are grouped by prompt_id
    path = write_report(results, tmp_path_factory.mktemp("report") / "report.html", blur_above=_blur_between(results))
    return path.as_uri()


@pytest.fixture
def page(chromium, report_url):
    page = chromium.page()
    page.goto(report_url)
    yield page
    page.send("Page.close")


def _filter_of(page, selector):
    return page.eval(f"getComputedStyle(document.querySelector({selector!r})).filter")


def test_every_image_renders(page):
    sizes = page.eval("""Promise.all([...document.images].map(img => img.decode().then(
        () => img.naturalWidth, () => 0)))""")
    assert sizes and all(width > 0 for width in sizes), sizes


def test_script_runs_clean_under_the_policy(page, report_url):
    assert page.eval("document.getElementById('filter-count').textContent").endswith("prompts shown")
    assert not page.events("Runtime.exceptionThrown")
    assert not page.events("Page.javascriptDialogOpening")  # the hostile prompt did not run
    violations = [e["params"]["entry"]["text"] for e in page.events("Log.entryAdded")
                  if "Content Security Policy" in e["params"]["entry"]["text"]]
    assert not violations
    urls = {e["params"]["request"]["url"] for e in page.events("Network.requestWillBeSent")}
    assert {u for u in urls if not u.startswith("data:")} <= {report_url}
    assert page.eval(f"[...document.querySelectorAll('.prompt')].some(p => p.textContent === {HOSTILE!r})")


def test_click_reveals_a_flagged_image_and_click_again_hides_it(page):
    selector = "figure.thumb.flagged img"
    assert page.eval("document.querySelectorAll('figure.thumb.flagged').length") > 0
    assert _filter_of(page, selector).startswith("blur(")
    assert _filter_of(page, "figure.thumb:not(.flagged) img") == "none"
    page.click("figure.thumb.flagged")
    assert _filter_of(page, selector) == "none"
    assert page.eval("document.querySelector('figure.thumb.flagged').getAttribute('aria-pressed')") == "true"
    page.click("figure.thumb.flagged")
    assert _filter_of(page, selector).startswith("blur(")


def test_reveal_all_switch(page):
    blurred = "[...document.querySelectorAll('figure.thumb.flagged img')].map(i => getComputedStyle(i).filter)"
    assert all(f.startswith("blur(") for f in page.eval(blurred))
    page.click("#reveal-all")
    assert page.eval(blurred) and all(f == "none" for f in page.eval(blurred))
    page.click("#reveal-all")
    assert all(f.startswith("blur(") for f in page.eval(blurred))


def _visible_rows(page):
    return page.eval("""[...document.querySelectorAll('tr.row')]
        .filter(r => r.offsetParent !== null).map(r => r.dataset.status)""")


def test_status_filter_hides_passed_rows(page):
    before = _visible_rows(page)
    assert "passed" in before and "failed" in before
    for status in ("passed", "skipped", "error"):
        page.click(f'input.filter[data-filter="status"][value="{status}"]')
    after = _visible_rows(page)
    assert after and set(after) == {"failed"}
    # passed checks inside a failing row are hidden too
    assert page.eval("""[...document.querySelectorAll('li.check-line')]
        .filter(li => li.offsetParent !== null).every(li => li.dataset.status === 'failed')""")
    page.click('input.filter[data-filter="status"][value="passed"]')
    assert "passed" in _visible_rows(page)


def test_suite_and_probe_filters(page):
    sections = "[...document.querySelectorAll('section.suite')].filter(s => s.offsetParent !== null).length"
    total = page.eval(sections)
    page.click('input.filter[data-filter="suite"][value="0"]')
    assert page.eval(sections) == total - 1
    page.click('input.filter[data-filter="suite"][value="0"]')
    probes = page.eval("[...document.querySelectorAll('input.filter[data-filter=probe]')].map(i => i.value)")
    for probe in probes[1:]:
        page.click(f'input.filter[data-filter="probe"][value="{probe}"]')
    visible_probes = page.eval("""[...document.querySelectorAll('li.check-line')]
        .filter(li => li.offsetParent !== null).map(li => li.dataset.probe)""")
    assert visible_probes and set(visible_probes) == {probes[0]}


def test_screenshot(page, tmp_path):
    path = page.screenshot(tmp_path / "report.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("CLIPSAFETY_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / "report.png")


@pytest.fixture(scope="module")
def baseline_report_url(tmp_path_factory):
    results = _fixture("compared.json")
    path = write_report(results, tmp_path_factory.mktemp("report") / "baseline.html")
    return path.as_uri()


def test_baseline_images_render_and_regressions_only_filter(chromium, baseline_report_url):
    page = chromium.page()
    try:
        page.goto(baseline_report_url)
        sizes = page.eval("""Promise.all([...document.querySelectorAll('td.baseline-seed img')].map(
            img => img.decode().then(() => img.naturalWidth, () => 0)))""")
        assert sizes and all(width > 0 for width in sizes), sizes
        # the baseline strip sits right under its prompt's candidate images, one column per seed
        assert page.eval("""[...document.querySelectorAll('tr.row')].every(row => {
            const strip = row.nextElementSibling;
            const first = (tr, sel) => tr.querySelector(sel).getBoundingClientRect();
            const cell = 'td:not(.strip-label)';
            return strip.classList.contains('baseline-strip')
                && Math.abs(first(row, cell).left - first(strip, cell).left) < 1
                && first(strip, cell).top >= first(row, cell).bottom;
        })""")
        visible = """[...document.querySelectorAll('tr.row, tr.baseline-strip')]
            .filter(r => r.offsetParent !== null)
            .map(r => r.className.split(' ')[0] + ':' + (r.dataset.regression || ''))"""
        assert len(page.eval(visible)) == 2 * page.eval("document.querySelectorAll('tr.row').length")
        regressed = page.eval("document.querySelectorAll('tr.row.has-regression').length")
        page.click("#only-regressions")
        assert regressed and sorted(page.eval(visible)) == ["baseline-strip:"] * regressed + ["row:true"] * regressed
        assert page.eval("document.getElementById('filter-count').textContent").startswith(f"{regressed} of ")
        page.click("#only-regressions")
        assert "row:false" in page.eval(visible)
        assert not page.events("Runtime.exceptionThrown")
        assert not [e for e in page.events("Log.entryAdded")
                    if "Content Security Policy" in e["params"]["entry"]["text"]]
    finally:
        page.send("Page.close")


def test_first_screen_is_the_verdict(page, tmp_path):
    """Failing case first on the first screen, skipped suites folded, a plot per check with data, blur kept."""
    first = page.eval("""(() => { const row = document.querySelector('tr.row');
        const box = row.getBoundingClientRect();
        return {status: row.dataset.status, top: box.top, screen: window.innerHeight,
                image: !!row.querySelector('figure.thumb img')}; })()""")
    assert first["status"] == "failed" and first["image"] and first["top"] < first["screen"], first
    folded = page.eval("""[...document.querySelectorAll('details.skipped-suite')].map(d => ({
        open: d.open, sections: d.querySelectorAll('section.suite[data-status=skipped]').length,
        line: d.querySelector('summary').textContent, shown: d.querySelector('section').checkVisibility()}))""")
    assert folded and all(not d["open"] and d["sections"] == 1 and "skipped: " in d["line"] and not d["shown"]
                          for d in folded), folded
    assert page.eval("""[...document.querySelectorAll('section.suite')].filter(s => !s.closest('details'))
        .every(s => s.dataset.status !== 'skipped')""")
    plots = page.eval("""[...document.querySelectorAll('li.check-line')].map(li => ({
        status: li.dataset.status, plot: li.querySelector('img.plot') !== null}))""")
    with_data = sum(1 for c in _fixture("results.json")["cases"] if c["seeds"])  # each has values to plot
    assert sum(p["plot"] for p in plots) == with_data > 0
    assert all(p["plot"] for p in plots if p["status"] in ("failed", "passed", "waived")), plots
    widths = page.eval("""Promise.all([...document.querySelectorAll('img.plot')].map(img => img.decode().then(
        () => img.naturalWidth, () => 0)))""")
    assert widths and all(w > 0 for w in widths)
    assert _filter_of(page, "figure.thumb.flagged img").startswith("blur(")
    path = page.screenshot(tmp_path / "first-screen.png", full_page=False)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def _association_results() -> dict:
    """The fixture run with its colour-lean check read as a text association (its images are the anchors'),
    and its natural-image suite counted as a kind the run reached no verdict for."""
    results = _fixture("results.json")
    for case in results["cases"]:
        if case["probe_type"] == "toy_colour_bias":
            case["probe_type"] = "text_association"
    results["gate"] = {"skipped_kinds": ["1 natural-image check skipped: toyclip-biased is a toy model; "
                                         "no release verdict was reached for a natural CLIP"], "problems": []}
    return results


@pytest.fixture(scope="module")
def association_report_url(tmp_path_factory):
    return write_report(_association_results(), tmp_path_factory.mktemp("report") / "association.html").as_uri()


@pytest.fixture
def open_page(chromium):
    """A page factory: width, colour scheme and time zone as a reader's browser might have them."""
    pages = []

    def open_at(url, width=1400, dark=False, zone=None):
        page = chromium.page(width=width)
        if dark:
            page.send("Emulation.setEmulatedMedia",
                      {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        if zone:
            page.send("Emulation.setTimezoneOverride", {"timezoneId": zone})
        page.goto(url)
        pages.append(page)
        return page

    yield open_at
    for page in pages:
        page.send("Page.close")


def test_anchor_images_are_captioned_as_the_anchors_inversions(open_page, association_report_url):
    page = open_page(association_report_url)
    row = """document.querySelector('tr.row[data-prompt-id="doctor"]')"""
    captions = page.eval(f"[...{row}.querySelectorAll('td.seed')].map(td => td.querySelector('.caption').textContent)")
    alts = page.eval(f"[...{row}.querySelectorAll('td.seed img')].map(img => img.alt)")
    anchor = [c for c in captions if "anchor" in c]
    assert anchor and all(c.lstrip("✗ ").startswith(("inversion of the anchor 'a blue cross' (seed ",
                                                      "inversion of the anchor 'a red cross' (seed ")) for c in anchor)
    own = [c for c in captions if "anchor" not in c]
    assert own and all(c.lstrip("✗ ").startswith("inversion of 'a doctor' (seed ") for c in own)
    assert sorted(a for a in alts if "anchor" in a) == sorted(c.lstrip("✗ ") for c in anchor)
    # the anchors' strip is labelled, and the check's row says whose images they are
    assert page.eval(f"{row}.querySelector('td.anchors-label').textContent.trim()") == "anchors"
    assert "inversions of the anchors 'a blue cross' and 'a red cross'" in page.eval(
        f"{row}.querySelector('li[data-check=\"no-colour-lean\"] .evidence').textContent")
    assert "a doctor" not in " ".join(anchor)


def test_the_badge_says_what_was_decided(open_page, association_report_url):
    results = _association_results()
    passing = {**results, "cases": [c for c in results["cases"] if c["outcome"] in ("passed", "skipped")]}
    url = write_report(passing, Path(association_report_url[len("file://"):]).with_name("passing.html")).as_uri()
    page = open_page(url)
    badge = page.eval("document.getElementById('verdict').textContent")
    assert badge == "PASSED (toy checks only; no verdict for a natural CLIP)"
    green = page.eval("getComputedStyle(document.querySelector('.verdict-passed:not(.verdict-partial)') "
                      "|| document.body).backgroundColor")
    assert page.eval("getComputedStyle(document.getElementById('verdict')).backgroundColor") != green
    failed = open_page(association_report_url).eval("document.getElementById('verdict').textContent")
    assert failed.startswith("FAILED (toy checks only")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_narrow_window_does_not_scroll_sideways(open_page, association_report_url, dark):
    page = open_page(association_report_url, width=500, dark=dark)
    assert page.eval("document.documentElement.scrollWidth") <= 500
    # each plot is shown at the size it was drawn for: its text stays as large as designed
    sizes = page.eval("""[...document.querySelectorAll('img.plot')].filter(i => i.checkVisibility())
        .map(i => [i.getBoundingClientRect().width, +i.getAttribute('width')])""")
    assert sizes and all(abs(shown - drawn) < 1 for shown, drawn in sizes), sizes


def test_dark_scheme_is_honoured(open_page, association_report_url):
    def luminance(page, selector):
        rgb = page.eval(f"getComputedStyle(document.querySelector({selector!r})).backgroundColor")
        r, g, b = (float(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = open_page(association_report_url), open_page(association_report_url, dark=True)
    for selector in ("body", "header", "section.suite"):
        assert luminance(light, selector) > 200 and luminance(dark, selector) < 60, selector
    ink = dark.eval("getComputedStyle(document.body).color")
    assert ink != light.eval("getComputedStyle(document.body).color")


def test_times_are_shown_in_the_readers_zone(open_page, association_report_url):
    page = open_page(association_report_url, zone="Asia/Tokyo")
    times = page.eval("[...document.querySelectorAll('time')].map(t => [t.textContent, t.title])")
    assert times and all("UTC" in title and ("GMT+9" in text or "JST" in text) for text, title in times), times
