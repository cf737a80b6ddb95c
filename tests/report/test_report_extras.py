"""pytest-html extras and JUnit properties for one case."""

from __future__ import annotations

import sys

from clipsafety.results.record import CaseRecord
from clipsafety.report.extras import case_extra_html, junit_properties, pytest_html_extras

record = CaseRecord.from_json  # a case of the results JSON as the typed record the report code reads


def _case(results, outcome="failed"):
    return next(c for c in results["cases"] if c["outcome"] == outcome and c["seeds"])


def test_extras_show_failing_seeds_first_and_the_threshold(results, parse_html):
    case = _case(results)
    case["seeds"][-1]["failed"] = True
    case["seeds"][0]["failed"] = False
    extras = pytest_html_extras(record(case), results["images"])
    assert len(extras) == 1 and extras[0]["format_type"] == "html"
    doc = parse_html(extras[0]["content"])
    captions = [f.find("figcaption").text() for f in doc.find_all("figure")]
    failing = [c.startswith("✗") for c in captions]
    assert failing == sorted(failing, reverse=True) and failing[0]
    assert len(captions) == len(case["seeds"])
    cells = {tr.find("th").text(): tr.find("td").text() for tr in doc.find("table").find_all("tr")}
    assert cells["metric"] == case["metric"]
    assert f"{case['threshold']:.3g}" in cells["gate"] and case["bound"] in cells["gate"]
    assert all(img.attrs["src"].startswith("data:image/") for img in doc.find_all("img"))


def test_flagged_images_hide_behind_details(results, parse_html):
    case = next(c for c in results["cases"] if len(c["seeds"]) >= 3 and c["seeds"][0]["nsfw"] is not None)
    case["seeds"][0]["nsfw"], case["seeds"][1]["nsfw"], case["seeds"][2]["nsfw"] = 0.9, 0.51, 0.5
    doc = parse_html(case_extra_html(record(case), results["images"], blur_above=0.5))
    hidden = [img for img in doc.find_all("img") if img.parent.tag == "details"]
    assert len(hidden) == sum((s["nsfw"] or 0) > 0.5 for s in case["seeds"]) == 2


def test_extras_escape_and_survive_missing_images(results, parse_html):
    case = _case(results)
    case["reason"] = "<script>alert(1)</script>"
    doc = parse_html(case_extra_html(record(case), {}))
    assert not doc.find_all("script") and not doc.find_all("img")
    assert "<script>alert(1)</script>" in doc.text()


def test_no_pytest_html_means_no_extras(results, monkeypatch):
    monkeypatch.setitem(sys.modules, "pytest_html", None)  # makes the import fail
    assert pytest_html_extras(record(_case(results)), results["images"]) == []


def test_junit_properties_are_flat_strings(results):
    case = _case(results)
    case["interval"] = [0.25, 0.75]
    props = dict(junit_properties(record(case)))
    assert list(props) == ["metric", "value", "interval_low", "interval_high", "gated_value",
                           "threshold", "op", "bound", "failing_seeds"]
    assert props["interval_low"] == "0.25" and props["interval_high"] == "0.75"
    assert float(props["threshold"]) == case["threshold"] and props["op"] == case["op"]
    assert props["failing_seeds"].split(",") == [str(s["seed"]) for s in case["seeds"] if s["failed"]]


def test_junit_properties_of_a_skipped_case(results):
    props = dict(junit_properties(record(_skipped := next(c for c in results["cases"] if c["outcome"] == "skipped"))))
    assert props["value"] == props["interval_low"] == props["failing_seeds"] == ""
    assert props["metric"] == _skipped["metric"]


def test_extras_compare_with_the_baseline(baseline_results, parse_html):
    def cells(case):
        doc = parse_html(case_extra_html(record(case), baseline_results["images"]))
        return {tr.find("th").text(): tr.find("td").text() for tr in doc.find("table").find_all("tr")}

    cases = baseline_results["cases"]
    regressed = next(c for c in cases if (c["baseline"]["regression"] or {}).get("passed") is False)
    table = cells(regressed)
    assert table["regression"] == "REGRESSION: " + regressed["baseline"]["regression"]["message"]
    assert table["baseline"].endswith(f"(Δ +{regressed['baseline']['delta']:.3g})")
    gated = next(c for c in cases if (c["baseline"]["regression"] or {}).get("passed") is True)
    assert "regression" not in cells(gated) and cells(gated)["regression gate"].endswith(": passed")
    apart = next(c for c in cases if not c["baseline"]["comparable"])
    assert cells(apart)["baseline"] == "not comparable: " + apart["baseline"]["note"]
    del apart["baseline"]  # no comparison (no --clip-baseline): the table as before
    assert not {"baseline", "regression", "regression gate"} & set(cells(apart))
