"""The command line's file arguments: results files read back, outputs that must not clobber inputs or
each other, and what `report` and `compare` make of results that hold no verdict."""

from __future__ import annotations

import json
import shutil

import pytest

from clipsafety.cli import main
from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: cli
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 2, init_size: 16, upscale_steps: [], copies: 1}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0, max_drop: 0.5}
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A folder with a suite, the tiny model, its cache and the results of one run (r.json)."""
    root = tmp_path_factory.mktemp("made")
    (root / "suite.yaml").write_text(SUITE)
    write_tiny_model_folder(root / "tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json",
                     "--clip-report=", "--clip-cache=cache"]) == 0
    return root


@pytest.fixture
def workdir(made, tmp_path, monkeypatch):
    for name in ("suite.yaml", "r.json"):
        shutil.copy(made / name, tmp_path / name)
    for name in ("tiny", "cache"):
        shutil.copytree(made / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _results(path) -> dict:
    return json.loads(path.read_text())


def _without_cases(workdir, name="empty.json"):
    data = _results(workdir / "r.json")
    data["cases"], data["images"] = [], {}
    data["summary"] = dict.fromkeys(data["summary"], 0)
    (workdir / name).write_text(json.dumps(data))
    return name


# -- results that hold no verdict ------------------------------------------------------------------


def test_a_report_of_results_without_cases_does_not_read_passed(workdir, capsys):
    assert main(["report", _without_cases(workdir), "--out", "e.html"]) == 0
    html = (workdir / "e.html").read_text()
    assert 'id="verdict">PASSED<' not in html and "no case" in html


def test_compare_with_a_candidate_without_cases_fails(workdir, capsys):
    assert main(["compare", "r.json", _without_cases(workdir), "--out", "c.html"]) == 1
    out = capsys.readouterr().out
    assert "0 regressions over 0 cases" not in out
    assert "2 cases of the baseline run have no match in the candidate" in out


def test_compare_names_baseline_cases_missing_from_the_candidate(workdir, capsys):
    data = _results(workdir / "r.json")
    data["cases"] = data["cases"][:1]
    (workdir / "fewer.json").write_text(json.dumps(data))
    assert main(["compare", "r.json", "fewer.json", "--out", "c.html"]) == 1
    out = capsys.readouterr().out
    assert "MISSING suite.yaml::reached[a-dog]" in out or "MISSING suite.yaml::reached[a-cat]" in out


# -- baseline matching does not depend on how the suite's path was typed ---------------------------------


def test_a_baseline_matches_a_run_of_the_suite_by_its_absolute_path(workdir, capsys):
    args = ["--clip-model=local-dir:tiny", "--clip-report=", "--clip-cache=cache", "--clip-baseline=r.json"]
    assert main(["run", str(workdir / "suite.yaml"), "--clip-results=abs.json", *args]) == 0
    cases = _results(workdir / "abs.json")["cases"]
    assert cases and all(c["baseline"]["comparable"] for c in cases), [c["baseline"] for c in cases]
    notes = _results(workdir / "abs.json")["baseline"]["notes"]
    assert not any("not in the baseline run" in note for note in notes)


# -- --blur-above: one validator for run, report and compare ----------------------------------------------


@pytest.mark.parametrize("value", ["nan", "2", "-0.1", "inf"])
@pytest.mark.parametrize("command", [["report", "r.json"], ["compare", "r.json", "r.json"]])
def test_report_and_compare_refuse_a_blur_threshold_run_refuses(workdir, capsys, command, value):
    assert main([*command, "--out", "x.html", f"--blur-above={value}"]) == 2
    err = capsys.readouterr().err
    assert f"--blur-above={value}: must be a number from 0 to 1" in err and "fix:" in err
    assert not (workdir / "x.html").exists()
