"""The command line: run, compare, report, models, and clean errors."""

from __future__ import annotations

import json

import pytest

from clipsafety.cli import main
from clipsafety.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: cli
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 8, init_size: 16, upscale_steps: [], copies: 2}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0, max_drop: 0.5}
  - {id: impossible, metric: sim.min, op: ">", threshold: 0.99, prompts: [a-cat]}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.yaml").write_text(SUITE)
    write_tiny_model_folder(tmp_path / "tiny")
    return tmp_path


def test_run_writes_results_and_report_and_fails_on_a_failed_check(workdir, capsys):
    code = main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=out/r.json",
                 "--clip-report=out/r.html"])
    assert code == 1
    out = capsys.readouterr()
    assert "2 passed, 1 failed, 0 skipped, 0 error" in out.out
    assert "FAILED" in out.err and "impossible[a-cat]" in out.err
    progress = [line for line in out.err.splitlines() if "clipsafety: inverting" in line]
    assert progress and len(progress) <= 3 and "\r" not in out.err  # captured stderr is a log
    assert "step 8/8 (100%)" in progress[-1]
    data = json.loads((workdir / "out" / "r.json").read_text())
    assert data["summary"]["failed"] == 1 and len(data["images"]) == 4
    assert (workdir / "out" / "r.html").stat().st_size > 1000
    assert len((workdir / "out" / "audit.log").read_text().splitlines()) == 1


def test_run_gives_the_same_verdicts_as_pytest_would(workdir):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=a.json", "--clip-report="])
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=b.json", "--clip-report=",
          "--clip-no-cache"])
    a = json.loads((workdir / "a.json").read_text())["cases"]
    b = json.loads((workdir / "b.json").read_text())["cases"]
    assert [(c["nodeid"], c["value"], c["seeds"]) for c in a] == [(c["nodeid"], c["value"], c["seeds"]) for c in b]


def test_report_rerenders_from_results(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=r.json", "--clip-report="])
    assert main(["report", "r.json", "--out", "again.html"]) == 0
    assert "data:image" in (workdir / "again.html").read_text()


def test_compare_flags_regressions(workdir, capsys):
    main(["run", "suite.yaml", "--clip-model=local-dir:tiny", "--clip-results=base.json", "--clip-report="])
    assert main(["compare", "base.json", "base.json", "--out", "same.html"]) == 0
    base = json.loads((workdir / "base.json").read_text())
    for case in base["cases"]:
        if case["check"] == "reached":
            case["value"], case["interval"] = -0.9, [-0.95, -0.85]  # a far worse candidate
    (workdir / "worse.json").write_text(json.dumps(base))
    capsys.readouterr()
    assert main(["compare", "base.json", "worse.json", "--out", "cmp.html", "--json", "cmp.json"]) == 1
    out = capsys.readouterr().out
    assert out.count("REGRESSION") == 2 and "sim.mean dropped" in out
    assert json.loads((workdir / "cmp.json").read_text())["baseline"]["regressions"] == 2


def test_errors_are_one_line_and_exit_2(workdir, capsys):
    (workdir / "bad.yaml").write_text("clipsafety: 1\nname: bad\nprompts: []\n")
    assert main(["run", "bad.yaml", "--clip-model=local-dir:tiny"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:1: checks: missing required key 'checks'" in err and "Traceback" not in err
    assert main(["report", "missing.json"]) == 2
    assert "cannot read results file" in capsys.readouterr().err
