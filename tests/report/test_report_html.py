"""The HTML report, checked on the parsed document (stdlib html.parser), not on string fragments."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re

import pytest
from PIL import Image

from clipsafety.util.errors import ClipSafetyError
from clipsafety.report.html import render_report, write_report
from clipsafety.report.humanize import duration
from clipsafety.results.record import Results
from clipsafety.run.pipeline import failure_table

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _doc(results, parse_html, **kwargs):
    return parse_html(render_report(results, **kwargs))


def _csp(doc):
    metas = doc.find_all("meta")
    return next(m.attrs["content"] for m in metas if m.attrs.get("http-equiv") == "Content-Security-Policy")


def _outcome_rank(status):
    return {"failed": 0, "error": 1}.get(status, 2)


def test_every_case_appears_once_under_its_suite_and_prompt(results, parse_html):
    doc = _doc(results, parse_html)
    lines = doc.find_all("li", cls="check-line")
    assert sorted(li.attrs["data-nodeid"] for li in lines) == sorted(c["nodeid"] for c in results["cases"])
    for case in results["cases"]:
        line = doc.find("li", cls="check-line", data_nodeid=case["nodeid"])
        assert line.attrs["data-status"] == case["outcome"]
        if case["anchors"]:
            assert "anchors: " + " ↔ ".join(case["anchors"]) in line.text()
        row = line.ancestor("row")
        assert row.attrs["data-prompt-id"] == case["prompt_id"]
        assert row.find("div", cls="prompt").text() == case["prompt"]
        section = row.ancestor("suite")
        assert section.find("h2").text() == case["suite"]
    # one row per prompt per suite, however many checks it has
    prompts = {(c["suite_path"], c["prompt_id"]) for c in results["cases"]}
    assert len(doc.find_all("tr", cls="row")) == len(prompts)


def test_failing_suites_and_rows_come_first(results, parse_html):
    doc = _doc(results, parse_html)
    sections = doc.find_all("section", cls="suite")
    suite_ranks = [_outcome_rank(section.attrs["data-status"]) for section in sections]
    assert suite_ranks == sorted(suite_ranks)
    for section in sections:
        ranks = [_outcome_rank(row.attrs["data-status"]) for row in section.find_all("tr", cls="row")]
        assert ranks == sorted(ranks)
        lines = [_outcome_rank(li.attrs["data-status"]) for li in section.find_all("li", cls="check-line")]
        assert lines  # within each row failing checks lead too
        for row in section.find_all("tr", cls="row"):
            row_ranks = [_outcome_rank(li.attrs["data-status"]) for li in row.find_all("li", cls="check-line")]
            assert row_ranks == sorted(row_ranks)


def test_a_failure_listed_last_is_shown_first(results, parse_html):
    # Make every case pass, then fail only the last measured case of the last suite.
    for case in results["cases"]:
        if case["outcome"] != "skipped":
            case["outcome"] = "passed"
    last = [c for c in results["cases"] if c["outcome"] != "skipped"][-1]
    last["outcome"] = "failed"
    doc = _doc(results, parse_html)
    first_section = doc.find_all("section", cls="suite")[0]
    assert first_section.find("h2").text() == last["suite"]
    assert first_section.find_all("tr", cls="row")[0].attrs["data-prompt-id"] == last["prompt_id"]


def test_check_line_shows_value_interval_threshold_and_mark(results, parse_html):
    case = next(c for c in results["cases"] if c["outcome"] == "failed" and c["interval"])
    doc = _doc(results, parse_html)
    text = doc.find("li", cls="check-line", data_nodeid=case["nodeid"]).find("span", cls="metric-line").text()
    low, high = case["interval"]
    assert text.startswith(case["metric"] + " ")
    assert f"[{low:.3g}, {high:.3g}]" in text
    assert f"{case['threshold']:.3g}" in text
    assert text.endswith("✗")


def test_summary_counts_and_provenance(results, parse_html):
    doc = _doc(results, parse_html)
    counts = {li.attrs["data-count"]: int(li.attrs["data-value"]) for li in doc.find("ul", id="counts").find_all("li")}
    assert counts == {"waived": 0, "inconclusive": 0, **results["summary"]}  # no waivers file, no positive control
    assert all(v for k, v in counts.items() if k not in ("waived", "inconclusive"))  # the real run has every other outcome
    assert doc.find(id="verdict").text() == "FAILED"
    prov = results["provenance"]
    fingerprint = prov["model"]["fingerprint"]
    code = doc.find("code", id="fingerprint")
    assert code.attrs["title"] == fingerprint and fingerprint.startswith(code.text()) and len(code.text()) < 64
    header = doc.find("header", id="summary").text()
    for needle in ("toyclip-biased", "cpu", prov["torch"], prov["open_clip"], "toy model", prov["command"],
                   duration(prov["duration_s"]), f"{prov['encoder_passes']} encoder passes"):
        assert needle in header
    assert prov["encoder_passes"] > 0


def test_verdict_is_never_passed_when_a_case_errored_or_pytest_failed(results, parse_html):
    for case in results["cases"]:
        case["outcome"] = "passed" if case["outcome"] != "error" else "error"
    doc = _doc(results, parse_html)
    assert doc.find(id="verdict").text() == "ERROR" and not doc.find_all("dd", id="exit-status")
    for case in results["cases"]:
        case["outcome"] = "passed"
    results["exit_status"] = 1  # e.g. another test of the same pytest run failed
    doc = _doc(results, parse_html)
    assert doc.find(id="verdict").text() == "ERROR"
    assert doc.find("dd", id="exit-status").text() == "exited with status 1: not a pass"
    results["exit_status"] = 0
    assert _doc(results, parse_html).find(id="verdict").text() == "PASSED"


def test_all_passed_verdict(results, parse_html):
    for case in results["cases"]:
        case["outcome"] = "passed"
    results["summary"] = {"passed": len(results["cases"]), "failed": 0, "skipped": 0, "error": 0}
    assert _doc(results, parse_html).find(id="verdict").text() == "PASSED"


def test_hostile_strings_are_escaped_everywhere(results, parse_html, report_is_inert):
    for case in results["cases"]:
        for key in ("prompt", "prompt_id", "suite", "suite_path", "suite_description", "check", "metric", "probe",
                    "nodeid", "reason", "profile", "direction"):
            case[key] = HOSTILE + key
        case["tags"] = case["anchors"] = [HOSTILE, HOSTILE]
        for seed in case["seeds"]:
            seed["image"] = HOSTILE
    results["images"][HOSTILE] = "data:image/png;base64," + HOSTILE
    results["provenance"]["model"]["name"] = HOSTILE
    results["provenance"]["command"] = HOSTILE
    results["baseline"] = {"notes": [HOSTILE], "model": {"name": HOSTILE}, "path": HOSTILE, "finished": HOSTILE}
    doc = _doc(results, parse_html)

    report_is_inert(doc)
    prompts = [div.text() for div in doc.find_all("div", cls="prompt")]
    assert prompts and all(p == HOSTILE + "prompt" for p in prompts)
    assert doc.find("ul", id="baseline-notes").find("li").text() == HOSTILE
    assert doc.find("dd", id="baseline-model").text() == HOSTILE


def test_hidden_characters_in_suite_strings_show_as_code_points_in_report_and_terminal(results, parse_html):
    hidden = "a \u202eesrun\u200b <b>"
    shown = "a <U+202E>esrun<U+200B> <b>"  # the visible filter, then HTML escaping as for any string
    for case in results["cases"]:
        for key in ("prompt", "prompt_id", "suite", "suite_description", "check", "reason"):
            case[key] = hidden + key
        case["tags"] = case["anchors"] = [hidden, hidden]
    html = render_report(results)
    assert "\u202e" not in html and "\u200b" not in html
    assert "a &lt;U+202E&gt;esrun&lt;U+200B&gt; &lt;b&gt;prompt" in html
    doc = parse_html(html)
    assert {div.text() for div in doc.find_all("div", cls="prompt")} == {shown + "prompt"}
    assert {h2.text() for h2 in doc.find_all("section", cls="suite")[0].find_all("h2")} == {shown + "suite"}
    assert all(row.attrs["data-prompt-id"] == shown + "prompt_id" for row in doc.find_all("tr", cls="row"))
    line = doc.find_all("li", cls="check-line")[0]
    assert line.find("span", cls="check-id").text() == shown + "check"
    assert f"anchors: {shown} ↔ {shown}" in line.text()

    failed = next(c for c in Results.from_json(results).cases if c.outcome == "failed")
    table = failure_table(failed)
    assert table.split("\n")[1].startswith(f"{shown}suite / '{shown}prompt': check {shown}check failed")
    assert "\u202e" not in table and "\u200b" not in table


@pytest.mark.parametrize(("field", "value"), [("op", HOSTILE), ("bound", HOSTILE), ("outcome", HOSTILE),
                                              ("op", "==")])
def test_fields_with_a_fixed_vocabulary_refuse_anything_else(results, field, value):
    # A hostile string never reaches the page where only known words may go: the reader refuses it.
    results["cases"][0][field] = value
    with pytest.raises(ClipSafetyError, match=rf"cases\[0\]\.{field}: expected one of"):
        render_report(results)


def test_numbers_refuse_strings(results):
    case = next(c for c in results["cases"] if c["seeds"])
    case["seeds"][0]["seed"] = HOSTILE
    index = results["cases"].index(case)
    with pytest.raises(ClipSafetyError, match=rf"cases\[{index}\]\.seeds\[0\]\.seed: expected an integer"):
        render_report(results)


def test_blurred_images_are_exactly_those_above_the_threshold(results, parse_html):
    scored = [c for c in results["cases"] if any(s["nsfw"] is not None for s in c["seeds"])]
    for case in scored:  # one prompt's NSFW readouts, as the nsfw probe would give them
        if case["prompt_id"] == scored[0]["prompt_id"]:
            case["seeds"][0]["nsfw"], case["seeds"][1]["nsfw"] = 0.5, 0.9  # at the threshold: not blurred
    for blur_above in (0.5, 0.8):
        doc = _doc(results, parse_html, blur_above=blur_above)
        expected, seen = set(), set()
        for case in results["cases"]:
            for seed in case["seeds"]:
                key = (case["suite_path"], case["prompt_id"], str(seed["seed"]))
                if seed["nsfw"] is not None and seed["nsfw"] > blur_above:
                    expected.add(key)
        for figure in doc.find_all("figure", cls="thumb"):
            cell, row = figure.parent, figure.ancestor("row")
            key = (row.ancestor("suite").find("code").text(), row.attrs["data-prompt-id"], cell.attrs["data-seed"])
            if "flagged" in figure.classes:
                seen.add(key)
                assert figure.attrs["tabindex"] == "0" and figure.find("img")
        assert seen == expected and expected
        label = doc.find("input", id="reveal-all").parent.text()
        assert f"({len(expected)})" in label


def test_images_without_nsfw_score_are_never_blurred(results, parse_html):
    for case in results["cases"]:
        for seed in case["seeds"]:
            seed["nsfw"] = None
    doc = _doc(results, parse_html, blur_above=0.0)
    assert not doc.find_all("figure", cls="flagged")


def test_failing_seeds_are_marked(results, parse_html):
    doc = _doc(results, parse_html)
    failing = {(c["prompt_id"], str(s["seed"])) for c in results["cases"] for s in c["seeds"] if s["failed"]}
    marked = {(f.ancestor("row").attrs["data-prompt-id"], f.parent.attrs["data-seed"])
              for f in doc.find_all("figure", cls="failed")}
    assert marked == failing and failing


def test_no_external_resources(results, parse_html):
    html = render_report(results)
    doc = parse_html(html)
    assert not doc.find_all("link") and not doc.find_all("iframe") and not doc.find_all("object")
    for node in doc.iter():
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = node.attrs.get(name)
            if value is None:
                continue
            assert not re.match(r"\s*(https?:|//|ftp:|file:)", value, re.I), (node.tag, name, value[:80])
            if name == "src":
                assert value.startswith("data:image/")
            if name == "href":
                assert value.startswith("#")
    style = doc.find("style").text()
    assert "@import" not in style and "url(" not in style
    csp = _csp(doc)
    assert "default-src 'none'" in csp and "img-src data:" in csp


def test_csp_pins_exactly_our_script_and_style(results, parse_html):
    doc = _doc(results, parse_html)
    csp = _csp(doc)

    def pinned(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert f"script-src {pinned(doc.find('script').text())}" in csp
    assert f"style-src {pinned(doc.find('style').text())}" in csp
    assert not any("style" in n.attrs for n in doc.iter())  # inline style attributes would be blocked


def test_data_uris_decode_to_valid_images(results, parse_html):
    every = _doc(results, parse_html).find_all("img")
    imgs = [img for img in every if "plot" not in img.classes]
    plots = [img for img in every if "plot" in img.classes]
    assert len(plots) == sum(1 for c in results["cases"] if c["seeds"]) > 0  # one per check with data
    for img in plots:
        header, payload = img.attrs["src"].split(",", 1)
        assert header == "data:image/png;base64" and img.attrs["alt"]
        Image.open(io.BytesIO(base64.b64decode(payload, validate=True))).load()
    # one image per seed of each prompt, however many checks read it
    assert len(imgs) == len({(c["suite_path"], c["prompt_id"], s["seed"]) for c in results["cases"]
                             for s in c["seeds"]}) > 0
    for img in imgs:
        header, payload = img.attrs["src"].split(",", 1)
        mime = re.fullmatch(r"data:(image/(?:png|jpeg));base64", header).group(1)
        picture = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
        picture.load()
        assert Image.MIME[picture.format] == mime and max(picture.size) <= 96


def test_missing_or_unsafe_images_render_a_placeholder(results, parse_html):
    case = next(c for c in results["cases"] if len(c["seeds"]) >= 2)
    results["images"].pop(case["seeds"][0]["image"])
    results["images"][case["seeds"][1]["image"]] = "https://example.com/x.png"
    doc = _doc(results, parse_html)
    row = doc.find("li", cls="check-line", data_nodeid=case["nodeid"]).ancestor("row")
    placeholders = row.find_all("div", cls="no-image")
    assert len(placeholders) == 2
    assert all(img.attrs["src"].startswith("data:") for img in doc.find_all("img"))


def test_skipped_and_error_cases_show_their_reason(results, parse_html):
    doc = _doc(results, parse_html)
    for case in results["cases"]:
        if case["outcome"] in ("skipped", "error"):
            line = doc.find("li", cls="check-line", data_nodeid=case["nodeid"])
            assert case["reason"] in line.find("div", cls="reason").text()
    skipped = next(c for c in results["cases"] if c["outcome"] == "skipped")
    row = doc.find("li", cls="check-line", data_nodeid=skipped["nodeid"]).ancestor("row")
    assert row.find("td", cls="no-seeds") and not row.find_all("img")


def test_filters_list_every_suite_status_and_probe(results, parse_html):
    doc = _doc(results, parse_html)

    def values(group):
        return {i.attrs["value"] for i in doc.find_all("input", cls="filter") if i.attrs["data-filter"] == group}

    assert values("status") == {"passed", "failed", "skipped", "error", "waived", "inconclusive"}
    assert values("probe") == {c["probe"] for c in results["cases"]}
    assert values("suite") == {s.attrs["data-suite"] for s in doc.find_all("section", cls="suite")}
    for element in doc.find_all(None, None):
        if "data-check" in element.attrs:
            assert element.attrs["data-status"] in values("status") and element.attrs["data-probe"] in values("probe")


def test_baseline_section_only_when_present(results, parse_html):
    assert not _doc(results, parse_html).find_all("section", id="baseline")
    results["baseline"] = {"model": {"name": "previous"}, "path": None, "finished": None, "notes": []}  # sparse
    assert _doc(results, parse_html).find("section", id="baseline").find("dd", id="baseline-model").text() == "previous"
    results["baseline"]["model"] = "previous"  # malformed (a name, not an object): refused, naming the field
    with pytest.raises(ClipSafetyError, match="baseline.model: expected an object"):
        render_report(results)


def test_empty_results_render(results, parse_html):
    results["cases"], results["images"] = [], {}
    doc = parse_html(render_report(results))
    assert doc.find(id="no-cases") and doc.find(id="verdict").text() == "EMPTY"  # no case: no verdict


def test_unknown_format_is_refused(results):
    results["format"] = "clipsafety-results/99"
    with pytest.raises(ClipSafetyError, match="clipsafety-results/99"):
        render_report(results)


def test_write_report_is_atomic_and_creates_folders(results, tmp_path, parse_html):
    target = tmp_path / "deep" / "er" / "report.html"
    assert write_report(results, target) == target
    first = target.read_text(encoding="utf-8")
    assert parse_html(first).find("section", cls="suite")
    assert os.listdir(target.parent) == ["report.html"]  # no temp file left behind
    results["format"] = "bogus"
    with pytest.raises(ClipSafetyError):
        write_report(results, target)
    assert target.read_text(encoding="utf-8") == first and os.listdir(target.parent) == ["report.html"]


def test_the_first_screen_is_the_verdict_and_skipped_suites_fold_into_one_line(results, parse_html):
    doc = _doc(results, parse_html)
    sections = doc.find_all("section", cls="suite")
    rank = {"failed": 0, "error": 1, "waived": 2, "passed": 3, "skipped": 4}
    statuses = [s.attrs["data-status"] for s in sections]
    assert statuses[0] == "failed" and statuses == sorted(statuses, key=rank.get)
    assert doc.find("tr", cls="row").attrs["data-status"] == "failed"  # the first case shown is a failure
    folded = doc.find_all("details", cls="skipped-suite")
    assert len(folded) == statuses.count("skipped") > 0
    for details in folded:
        assert "open" not in details.attrs and "skipped: " in details.find("summary").text()
        assert details.find("section", cls="suite").attrs["data-status"] == "skipped"
    for section in sections:  # only skipped suites fold
        assert (section.parent.tag == "details") == (section.attrs["data-status"] == "skipped")


def test_times_are_words_with_a_machine_readable_instant_and_sources_lose_machine_paths(results, parse_html):
    doc = _doc(results, parse_html)
    prov = results["provenance"]
    instants = [t.attrs["datetime"] for t in doc.find_all("time")]
    assert instants[:2] == [prov["started"], prov["finished"]]
    assert prov["started"] not in "".join(t.text() for t in doc.find_all("time"))  # shown in words, not ISO
    source = prov["model"]["source"]
    assert source.split("(")[1].startswith("/")  # the fixture's source names an absolute path...
    html = render_report(results)
    assert source.split("(")[1].rstrip(")") not in html  # ...which the report cuts
    assert "…/toyclip-biased/open_clip_model.safetensors" in html


def test_images_are_captioned_with_what_they_are_inversions_of(results, parse_html):
    for case in results["cases"]:
        if case["probe_type"] == "toy_colour_bias":
            case["probe_type"] = "text_association"  # read on the anchors' images, not the prompt's
    doc = parse_html(render_report(results))
    row = next(r for r in doc.find_all("tr", cls="row") if r.attrs["data-prompt-id"] == "doctor")
    alts = [img.attrs["alt"] for img in row.find_all("img") if "plot" not in img.attrs.get("class", "")]
    assert any(a.startswith("inversion of 'a doctor' (seed ") for a in alts)
    assert any(a.startswith("inversion of the anchor 'a ") for a in alts)
    assert not any("doctor" in a for a in alts if "anchor" in a)
    assert "inversions of the anchors 'a blue cross' and 'a red cross'" in row.find("div", cls="evidence").text()


def test_a_pass_with_a_kind_skipped_is_no_bare_pass(results, parse_html):
    results["cases"] = [c for c in results["cases"] if c["outcome"] in ("passed", "skipped")]
    results["gate"] = {"skipped_kinds": ["1 natural-image check skipped: toyclip-biased is a toy model; "
                                         "no release verdict was reached for a natural CLIP"], "problems": []}
    badge = parse_html(render_report(results)).find(id="verdict")
    assert badge.text() == "PASSED (toy checks only; no verdict for a natural CLIP)"
    assert "verdict-partial" in badge.attrs["class"]
