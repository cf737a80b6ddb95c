"""The plugin is inert in a project that does not use it: no xdist mode change, no torch import,
no environment rewrite; with a suite or a clipsafety option it acts.

Each run is a subprocess, so `sys.modules` and the environment are the run's own; a conftest
writes what each process (controller and xdist workers) saw at its end.
"""

from __future__ import annotations

import json

import pytest

PLAIN_TEST = """
def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a" < "b"
"""

SEEN_CONFTEST = """
import json, os, sys

def pytest_unconfigure(config):
    name = getattr(config, "workerinput", {{}}).get("workerid", "controller")
    seen = {{"torch": "torch" in sys.modules, "dist": getattr(config.option, "dist", None),
            "cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}}
    with open(os.path.join({folder!r}, "seen-" + name + ".json"), "w") as fh:
        json.dump(seen, fh)
"""

SUITE = """
clipsafety: 1
name: smoke
inversion: {profile: paper, seeds: 3}
probes:
  sim: {type: similarity}
prompts: [a dog]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
"""


@pytest.fixture
def project(pytester, monkeypatch):
    """A project with plain tests whose conftest records each process's state; two outer GPUs
    named, so a worker that pins its GPU shows in CUDA_VISIBLE_DEVICES."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    pytester.makepyfile(test_plain=PLAIN_TEST)
    pytester.makeconftest(SEEN_CONFTEST.format(folder=str(pytester.path)))
    return pytester


def seen(pytester) -> dict[str, dict]:
    return {p.stem.removeprefix("seen-"): json.loads(p.read_text()) for p in pytester.path.glob("seen-*.json")}


def test_plain_project_imports_no_torch_and_shows_no_header(project):
    out = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    out.assert_outcomes(passed=2)
    assert seen(project) == {"controller": {"torch": False, "dist": None, "cuda": "0,1"}}
    assert "clipsafety:" not in out.stdout.str()  # no header line


def test_plain_project_under_xdist_keeps_load_mode_and_environment(project):
    out = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", "-n", "2")
    out.assert_outcomes(passed=2)
    states = seen(project)
    assert set(states) == {"controller", "gw0", "gw1"}
    assert states["controller"]["dist"] == "load"
    assert all(not s["torch"] and s["cuda"] == "0,1" for s in states.values()), states


def test_a_suite_in_the_project_switches_to_loadgroup_and_pins_worker_gpus(project):
    project.makefile(".yaml", smoke=SUITE)
    # the suite's cases are deselected: what is checked is the set-up, not a measurement
    out = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "-m", "not clipsafety")
    out.assert_outcomes(passed=2)
    states = seen(project)
    assert states["controller"]["dist"] == "loadgroup"
    assert {states["gw0"]["cuda"], states["gw1"]["cuda"]} == {"0", "1"}


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_clip_option_or_ini_key_switches_to_loadgroup(project, how):
    if how == "ini":
        project.makeini("[pytest]\nclip_seed = 3\n")
    args = ["--clip-seed=3"] if how == "option" else []
    out = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", "-n", "2", *args)
    out.assert_outcomes(passed=2)
    assert seen(project)["controller"]["dist"] == "loadgroup"


def test_a_suite_named_in_the_arguments_is_used(project):
    sub = project.mkdir("safety")
    (sub / "smoke.clipsafety.yaml").write_text(SUITE)
    out = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "-m", "not clipsafety",
                                       "test_plain.py", "safety")
    out.assert_outcomes(passed=2)
    assert seen(project)["controller"]["dist"] == "loadgroup"
    assert "clipsafety: --clip-model=toyclip-fair" in out.stdout.str()
