"""The report of a run compared with a baseline run (results["baseline"], case["baseline"]).

The fixture is a real run compared by clipsafety.gate.baseline itself (fixtures/generate.py), so
these tests read what the pipeline writes: a regression, passed regression gates,
a check missing from the baseline, a suite inverted with other settings, a changed suite.
"""

from __future__ import annotations

import copy

import pytest

from clipsafety.util.errors import ClipSafetyError
from clipsafety.results.record import CaseRecord
from clipsafety.report.html import render_report
from clipsafety.report.humanize import moment
from clipsafety.report.view import delta_trend, fmt_number, fmt_signed

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _doc(results, parse_html, **kwargs):
    return parse_html(render_report(results, **kwargs))


def _line(doc, case):
    return doc.find("li", cls="check-line", data_nodeid=case["nodeid"])


def _inside(node, tag, id_):
    parent = node.parent
    while parent is not None and not (parent.tag == tag and parent.attrs.get("id") == id_):
        parent = parent.parent
    return parent is not None


def _strip(row):
    strip = row.next_element()
    assert strip is not None and strip.tag == "tr" and "baseline-strip" in strip.classes
    assert strip.attrs["data-prompt-id"] == row.attrs["data-prompt-id"]
    assert strip.attrs["data-suite"] == row.attrs["data-suite"]
    return strip


def _cases_by_row(results):
    rows: dict[tuple[str, str], list[dict]] = {}
    for case in results["cases"]:
        rows.setdefault((case["suite_path"], case["prompt_id"]), []).append(case)
    return rows


def _regressed(case):
    return (case["baseline"].get("regression") or {}).get("passed") is False


def test_the_sample_covers_every_kind_of_comparison(baseline_results):
    # The other tests need each of these; fail here, by name, if the sample stops making one.
    cases = baseline_results["cases"]
    assert sum(map(_regressed, cases)) == baseline_results["baseline"]["regressions"] >= 1
    assert any(c["baseline"]["regression"] and c["baseline"]["regression"]["passed"] for c in cases)
    notes = {c["baseline"]["note"] for c in cases if not c["baseline"]["comparable"]}
    assert "not in the baseline run" in notes and any("other settings" in (n or "") for n in notes)
    deltas = [c["baseline"]["delta"] for c in cases if c["baseline"]["comparable"]]
    assert any(d > 0 for d in deltas) and any(d < 0 for d in deltas)


def test_banner_names_the_baseline_model_time_notes_and_regressions(baseline_results, parse_html):
    base = baseline_results["baseline"]
    doc = _doc(baseline_results, parse_html)
    banner = doc.find("section", id="baseline")
    assert _inside(banner, "header", "summary")
    assert doc.find("dd", id="baseline-model").text() == base["model"]["name"] == "toyclip-fair"
    code = doc.find("code", id="baseline-fingerprint")
    assert code.attrs["title"] == base["model"]["fingerprint"] and code.text() == base["model"]["fingerprint"][:12]
    when = doc.find("dd", id="baseline-finished").find("time")  # the same instant, in words
    assert when.attrs["datetime"] == base["finished"] and when.text() == moment(base["finished"]).text
    assert base["path"] in banner.text()
    assert [li.text() for li in doc.find("ul", id="baseline-notes").find_all("li")] == base["notes"]
    assert any("baseline model: toyclip-fair" in note for note in base["notes"])
    assert any("changed since the baseline run" in note for note in base["notes"])
    count = doc.find("span", id="regression-count")
    regressions = base["regressions"]
    assert count.attrs["data-value"] == str(regressions)
    assert count.text() == f"{regressions} regression{'' if regressions == 1 else 's'}"
    assert "has-regressions" in banner.classes
    comparable = sum(c["baseline"]["comparable"] for c in baseline_results["cases"])
    assert f"{comparable} of {len(baseline_results['cases'])} comparable" in banner.text()


def test_each_row_shows_the_baseline_images_beside_the_candidates(baseline_results, parse_html):
    images = baseline_results["images"]
    doc = _doc(baseline_results, parse_html)
    rows = doc.find_all("tr", cls="row")
    assert len(doc.find_all("tr", cls="baseline-strip")) == len(rows) == len(_cases_by_row(baseline_results))
    by_row = _cases_by_row(baseline_results)
    shown = 0
    for row in rows:
        cases = by_row[(row.ancestor("suite").find("code").text(), row.attrs["data-prompt-id"])]
        assert row.find("th", cls="prompt-cell").attrs["rowspan"] == "2"
        candidate = {s["seed"]: s["image"] for c in cases for s in c["seeds"]}
        baseline = {s["seed"]: s["image"] for c in cases for s in c["baseline"]["seeds"]}
        assert [td.attrs["data-seed"] for td in row.find_all("td", cls="seed")] == [str(s) for s in candidate]
        strip = _strip(row)
        assert [td.find("span").text() for td in strip.find_all("td", cls="strip-label")] == ["baseline"]
        cells = strip.find_all("td", cls="baseline-seed")
        assert [td.attrs["data-seed"] for td in cells] == [str(s) for s in baseline]  # count = baseline seeds
        for cell, sha in zip(cells, baseline.values()):
            img = cell.find("img")
            assert img.attrs["src"] == images[sha] and img.attrs["alt"].startswith("baseline inversion of ")
            assert sha not in candidate.values()  # the baseline's own images, not the candidate's again
        if not baseline:
            assert strip.find("td", cls="no-seeds").text() == "no baseline images"
        shown += len(cells)
    assert shown == sum(len(s) for s in ({x["seed"] for c in cs for x in c["baseline"]["seeds"]}
                                         for cs in by_row.values())) > 0


def test_baseline_images_blur_by_the_same_rule(baseline_results, parse_html):
    # Toy images read low on NSFW: give one prompt's images scores on both sides of the thresholds.
    case = next(c for c in baseline_results["cases"] if c["baseline"]["seeds"] and c["seeds"][0]["nsfw"] is not None)
    case["baseline"]["seeds"][0]["nsfw"], case["baseline"]["seeds"][1]["nsfw"] = 0.9, 0.5  # 0.5: not above 0.5
    case["seeds"][0]["nsfw"] = 0.95
    by_row = _cases_by_row(baseline_results)
    for blur_above in (0.5, 0.8):
        doc = _doc(baseline_results, parse_html, blur_above=blur_above)
        expected, seen = set(), set()
        for (path, prompt_id), cases in by_row.items():
            for case in cases:
                for seed in case["baseline"]["seeds"]:
                    if seed["nsfw"] is not None and seed["nsfw"] > blur_above:
                        expected.add((path, prompt_id, str(seed["seed"])))
        for strip in doc.find_all("tr", cls="baseline-strip"):
            path = strip.ancestor("suite").find("code").text()
            for figure in strip.find_all("figure", cls="flagged"):
                seen.add((path, strip.attrs["data-prompt-id"], figure.parent.attrs["data-seed"]))
                assert figure.attrs["tabindex"] == "0" and figure.find("img")
        assert seen == expected and expected
        flagged = len(doc.find_all("figure", cls="flagged"))
        assert flagged > len(expected)  # the candidate's flagged images too
        assert f"({flagged})" in doc.find("input", id="reveal-all").parent.text()


def test_a_regression_shows_the_marker_and_message(baseline_results, parse_html):
    doc = _doc(baseline_results, parse_html)
    regressed = [c for c in baseline_results["cases"] if _regressed(c)]
    for case in regressed:
        line = _line(doc, case)
        marker = line.find("div", cls="regression")
        assert marker.find("strong", cls="regression-mark").text() == "REGRESSION"
        assert marker.find("span", cls="regression-message").text() == case["baseline"]["regression"]["message"]
        assert ("rose" in marker.text() or "dropped" in marker.text()) and line.attrs["data-regression"] == "true"
        row = line.ancestor("row")
        assert "has-regression" in row.classes and row.attrs["data-regression"] == "true"
    for case in baseline_results["cases"]:
        if _regressed(case):
            continue
        line = _line(doc, case)
        assert not line.find_all("div", cls="regression") and "REGRESSION" not in line.text()
        assert line.attrs["data-regression"] == "false"
        gate = case["baseline"]["regression"]
        if gate and gate["passed"]:
            text = line.find("div", cls="regression-gate").text()
            margin = "max_rise" if gate["max_rise"] is not None else "max_drop"
            assert f"{margin} {fmt_number(gate[margin])}" in text and text.endswith("passed")
    rows = doc.find_all("tr", cls="row")
    regressed_rows = {(c["suite_path"], c["prompt_id"]) for c in regressed}
    assert sum("has-regression" in row.classes for row in rows) == len(regressed_rows) >= 1


def test_a_regression_without_a_message_is_still_marked(baseline_results, parse_html):
    case = next(c for c in baseline_results["cases"] if _regressed(c))
    case["baseline"]["regression"]["message"] = None
    line = _line(_doc(baseline_results, parse_html), case)
    assert line.find("strong", cls="regression-mark").text() == "REGRESSION"
    assert line.find("span", cls="regression-message").text()


def test_not_comparable_cases_show_their_note(baseline_results, parse_html):
    doc = _doc(baseline_results, parse_html)
    not_comparable = [c for c in baseline_results["cases"] if not c["baseline"]["comparable"]]
    assert len(not_comparable) >= 3  # missing from the baseline, other settings, skipped
    for case in not_comparable:
        line = _line(doc, case)
        note = line.find("div", cls="not-comparable").text()
        assert note == f"not comparable: {case['baseline']['note']}"
        assert not line.find_all("span", cls="delta") and not line.find_all("div", cls="regression")
    for case in baseline_results["cases"]:
        if case["baseline"]["comparable"]:
            assert not _line(doc, case).find_all("div", cls="not-comparable")


def test_candidate_and_baseline_values_and_the_signed_delta(baseline_results, parse_html):
    doc = _doc(baseline_results, parse_html)
    comparable = [c for c in baseline_results["cases"] if c["baseline"]["comparable"]]
    trends = set()
    for case in comparable:
        base = case["baseline"]
        line = _line(doc, case)
        candidate = line.find("span", cls="cmp-candidate").text()
        baseline = line.find("span", cls="cmp-baseline").text()
        assert candidate.startswith(fmt_number(case["value"])) and baseline.startswith(fmt_number(base["value"]))
        if case["interval"]:
            assert candidate.endswith(f"[{fmt_number(case['interval'][0])}, {fmt_number(case['interval'][1])}]")
            assert f"[{fmt_number(base['interval'][0])}, {fmt_number(base['interval'][1])}]" in baseline
        delta = line.find("span", cls="delta")
        text = delta.text()
        assert text == "Δ " + fmt_signed(base["delta"])
        assert text.startswith("Δ +") if base["delta"] > 0 else text.startswith("Δ -")
        # coloured by whether it moves toward failing: up is worse for "<=", down is worse for ">="
        worse = (base["delta"] > 0) == (case["op"] in ("<", "<="))
        assert delta.attrs["data-trend"] == ("worse" if worse else "better")
        assert f"trend-{delta.attrs['data-trend']}" in delta.classes
        trends.add(delta.attrs["data-trend"])
    assert trends == {"worse", "better"}
    regressed = next(c for c in comparable if _regressed(c))
    assert _line(doc, regressed).find("span", cls="delta").attrs["data-trend"] == "worse"


@pytest.mark.parametrize(("op", "rise", "drop", "delta", "trend"), [
    ("<=", None, None, 0.1, "worse"), ("<", None, None, -0.1, "better"),
    (">=", None, None, 0.1, "better"), (">", None, None, -0.1, "worse"),
    ("<=", 0.05, None, 0.1, "worse"), (">=", None, 0.05, 0.1, "better"),
    ("<=", None, None, 0.0, "same"), ("<=", None, None, None, "unknown"), ("<=", None, None, float("nan"), "unknown"),
])
def test_delta_trend(results, op, rise, drop, delta, trend):
    case = dict(results["cases"][0], op=op, max_rise=rise, max_drop=drop)
    assert delta_trend(CaseRecord.from_json(case), delta) == trend


def test_an_operator_no_suite_allows_is_refused_not_guessed(results):
    # "==" has no failing direction: the reader refuses it, so the trend never has to guess.
    with pytest.raises(ClipSafetyError, match=r"op: expected one of '<', '<=', '>', '>='"):
        CaseRecord.from_json(dict(results["cases"][0], op="=="))


def test_fmt_signed():
    assert [fmt_signed(v) for v in (0.1234, -0.05, 0, 0.0, None, 12345.0)] == ["+0.123", "-0.05", "0", "0", "—",
                                                                                "+12345"]


def test_hostile_baseline_strings_are_escaped(baseline_results, parse_html, report_is_inert):
    base = baseline_results["baseline"]
    base["notes"] = [HOSTILE, HOSTILE + "2"]
    base["model"].update(name=HOSTILE, pretrained=HOSTILE, fingerprint=HOSTILE)
    base["path"] = base["finished"] = HOSTILE
    for case in baseline_results["cases"]:
        cmp = case["baseline"]
        if not cmp["comparable"]:
            cmp["note"] = HOSTILE
        if cmp["regression"]:
            cmp["regression"]["message"] = HOSTILE
        for seed in cmp["seeds"]:
            seed["image"] = HOSTILE
    baseline_results["images"][HOSTILE] = "data:image/png;base64," + HOSTILE
    html = render_report(baseline_results)
    doc = parse_html(html)
    assert "<script>alert" not in html and "<img src=x" not in html
    report_is_inert(doc)
    assert [li.text() for li in doc.find("ul", id="baseline-notes").find_all("li")] == [HOSTILE, HOSTILE + "2"]
    assert doc.find("dd", id="baseline-model").text() == HOSTILE
    assert doc.find("code", id="baseline-fingerprint").attrs["title"] == HOSTILE
    notes = {div.text() for div in doc.find_all("div", cls="not-comparable")}
    assert notes == {"not comparable: " + HOSTILE}
    assert {s.text() for s in doc.find_all("span", cls="regression-message")} == {HOSTILE}
    assert {td.find("img").attrs["src"] for td in doc.find_all("td", cls="baseline-seed")} == {
        "data:image/png;base64," + HOSTILE}
    # A seed or outcome is not free text: a hostile one is refused when the results are read.
    case = next(c for c in baseline_results["cases"] if c["baseline"]["seeds"])
    case["baseline"]["seeds"][0]["seed"] = HOSTILE
    with pytest.raises(ClipSafetyError, match=r"baseline\.seeds\[0\]\.seed: expected an integer"):
        render_report(baseline_results)
    case["baseline"]["seeds"][0]["seed"] = 1
    case["baseline"]["outcome"] = HOSTILE
    with pytest.raises(ClipSafetyError, match=r"baseline\.outcome: expected one of"):
        render_report(baseline_results)


def test_without_a_baseline_nothing_of_it_is_rendered(results, baseline_results, parse_html):
    html = render_report(results)
    doc = parse_html(html)
    for node in doc.iter():
        if node.tag in ("style", "script"):
            continue
        named = " ".join([node.attrs.get("id") or "", *node.classes])
        assert "baseline" not in named and "regression" not in named and "strip" not in named, node.attrs
        assert "data-regression" not in node.attrs and "rowspan" not in node.attrs
    body = "".join(n.text() for n in doc.find_all("body"))
    assert "baseline" not in body.replace(doc.find("script").text(), "").lower()
    # Per-case comparisons without results["baseline"] are ignored: the very same page.
    annotated = copy.deepcopy(results)
    by_id = {c["nodeid"]: c["baseline"] for c in baseline_results["cases"]}
    for case in annotated["cases"]:
        case["baseline"] = by_id[case["nodeid"]]
    assert render_report(annotated) == html
    # ...and the baseline run's extra images are not shown either.
    annotated["images"] = baseline_results["images"]
    assert len(parse_html(render_report(annotated)).find_all("img")) == len(doc.find_all("img"))


def test_regressions_only_filter(results, baseline_results, parse_html):
    assert not _doc(results, parse_html).find_all("input", id="only-regressions")
    doc = _doc(baseline_results, parse_html)
    box = doc.find("input", id="only-regressions")
    rows = len({(c["suite_path"], c["prompt_id"]) for c in baseline_results["cases"] if _regressed(c)})
    label = f"regressions only ({rows} prompt{'' if rows == 1 else 's'})"
    assert "checked" not in box.attrs and label in box.parent.text()
    assert _inside(box, "fieldset", "filter-status")
    regressed = {c["check"] for c in baseline_results["cases"] if _regressed(c)}
    # Every element the filters hide carries the flag; only the regressed check's carry "true".
    flagged = [n for n in doc.iter() if "data-check" in n.attrs]
    assert flagged and all(n.attrs["data-regression"] in ("true", "false") for n in flagged)
    assert {n.attrs["data-check"] for n in flagged if n.attrs["data-regression"] == "true"} == regressed


def test_a_case_without_its_comparison_and_a_sparse_banner(baseline_results, parse_html):
    regressed = [c for c in baseline_results["cases"] if _regressed(c)]
    case = regressed[0]
    del case["baseline"]
    baseline_results["baseline"] = {"notes": ["one note"], "model": None, "path": None, "finished": None,
                                    "regressions": 99}
    doc = _doc(baseline_results, parse_html)
    note = _line(doc, case).find("div", cls="not-comparable").text()
    assert note.startswith("not comparable: no baseline comparison")
    assert [li.text() for li in doc.find("ul", id="baseline-notes").find_all("li")] == ["one note"]
    assert doc.find("dd", id="baseline-model").text() == "—"
    # the count is always the cases' own (the ones left), never a number the file claims
    assert doc.find("span", id="regression-count").attrs["data-value"] == str(len(regressed) - 1)
    baseline_results["baseline"]["notes"] = "one note, not a list"
    with pytest.raises(ClipSafetyError, match="baseline.notes: expected a list"):
        render_report(baseline_results)
