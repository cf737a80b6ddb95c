"""One reader for results and baseline files: the whole schema checked, one message naming the file and field.

The valid file is a real run's (tests/report/fixtures/results.json, trimmed to a
few cases so that hypothesis explores it quickly).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clipsafety.results import files as results_module
from clipsafety.gate.compare import attach_baseline
from clipsafety.util.errors import ClipSafetyError
from clipsafety.results.record import SCHEMA, Results
from clipsafety.report.html import render_report
from clipsafety.results.files import read_results, results_bytes

FIXTURE = Path(__file__).parents[1] / "report" / "fixtures" / "results.json"


def _small_valid() -> dict:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    kept = [c for c in data["cases"] if c["seeds"]][:2] + [c for c in data["cases"] if not c["seeds"]][:1]
    used = {s["image"] for c in kept for s in c["seeds"]}
    data["cases"], data["images"] = kept, {k: v for k, v in data["images"].items() if k in used}
    return data


VALID = _small_valid()


def _write(tmp_path, data, name="r.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def test_a_written_file_reads_back_the_same(tmp_path):
    results = Results.from_json(VALID)
    assert results.cases[0].seeds and results.cases[0].seeds[0].passes > 0  # steps and passes are recorded
    again = read_results(_write(tmp_path, results_bytes(results)))
    assert again == results and again.to_json()["format"] == SCHEMA


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(cases="oops"), "cases: expected a list, got 'oops'"),
    (lambda d: d["cases"][0].update(seeds="zz"), "cases[0].seeds: expected a list, got 'zz'"),
    (lambda d: d["cases"][0].update(value="abc"), "cases[0].value: expected a number, got 'abc'"),
    (lambda d: d["cases"][1]["seeds"][0].update(value="abc"), "cases[1].seeds[0].value: expected a number"),
    (lambda d: d["cases"][0].pop("threshold"), "cases[0]: missing field 'threshold'"),
    (lambda d: d["cases"][0]["seeds"][0].pop("image"), "cases[0].seeds[0]: missing field 'image'"),
    (lambda d: d["cases"][0].update(outcome="PASSED"), "cases[0].outcome: expected one of 'passed', 'failed'"),
    (lambda d: d["cases"][0]["seeds"][0].update(seed=1.5), "cases[0].seeds[0].seed: expected an integer"),
    (lambda d: d["cases"][0]["seeds"][0].update(failed="no"), "cases[0].seeds[0].failed: expected true or false"),
    (lambda d: d["cases"][0].update(interval=[1]), "cases[0].interval: expected [low, high]"),
    (lambda d: d["provenance"].pop("model"), "provenance: missing field 'model'"),
    (lambda d: d.update(images=[]), "images: expected an object"),
    (lambda d: d.update(format="clipsafety-results/1"), "format is 'clipsafety-results/1'; this clipsafety reads"),
])
def test_a_bad_field_is_one_message_naming_file_and_field(tmp_path, mutate, message):
    data = json.loads(json.dumps(VALID))
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ClipSafetyError) as err:
        read_results(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)
    assert "fix: give a results file written by" in str(err.value)


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"format": "\xff\xfe"}', "not UTF-8 text (byte 0xff on line 1)"),
    (b"{not json", "not JSON (line 1 column 2"),
    (b'{"value": NaN}', "not JSON (NaN is not a number clipsafety writes)"),
    (b"[" * 100_000, "not JSON"),
    (b"", "not JSON"),
])
def test_unreadable_bytes_are_one_message(tmp_path, raw, message):
    path = _write(tmp_path, raw)
    with pytest.raises(ClipSafetyError, match="cannot read results file") as err:
        read_results(path)
    assert message in str(err.value)


def test_missing_folder_and_oversized_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ClipSafetyError, match="cannot read results file: No such file"):
        read_results(tmp_path / "missing.json")
    with pytest.raises(ClipSafetyError, match="cannot read results file: it is a folder"):
        read_results(tmp_path)
    path = _write(tmp_path, VALID)
    monkeypatch.setattr(results_module, "MAX_RESULTS_BYTES", 100)
    limit = r"over the limit of 100 bytes \(clipsafety.util.limits.MAX_RESULTS_BYTES\)"
    with pytest.raises(ClipSafetyError, match=limit):
        read_results(path)


# -- property: any mutation loads (and then renders and compares) or is one ClipSafetyError ------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, width=32)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _mutate(data, draw) -> object:
    """Replace, delete or retype one value somewhere in the tree."""
    parent, key = None, None
    node = data
    while isinstance(node, (dict, list)) and node and draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
        node = node[key]
    action = draw(st.sampled_from(["replace", "delete", "retype"]))
    if parent is None:
        return draw(JSON) if action != "delete" else None
    if action == "delete":
        del parent[key]
    elif action == "retype":
        parent[key] = [node] if draw(st.booleans()) else str(node)
    else:
        parent[key] = draw(JSON)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_mutation_loads_or_is_one_clear_error(tmp_path, data):
    if data.draw(st.booleans()):
        raw = json.dumps(_mutate(json.loads(json.dumps(VALID)), data.draw)).encode()
    else:  # bytes: cut, or overwrite a few
        raw = bytearray(json.dumps(VALID).encode())
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + 4] = data.draw(st.binary(min_size=0, max_size=4))
        raw = bytes(raw)
    path = _write(tmp_path, raw)
    started = time.monotonic()
    try:
        results = read_results(path)
    except ClipSafetyError as err:
        event("refused")
        assert str(err).startswith(str(path)) and "Traceback" not in str(err)
    else:  # whatever validates, the report and the comparison can use
        event("loaded")
        assert "<html" in render_report(results)
        assert attach_baseline(results, results).baseline is not None
    assert time.monotonic() - started < 5.0
