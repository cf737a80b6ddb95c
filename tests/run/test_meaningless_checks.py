"""Checks that cannot mean anything are said to be so, never passed or failed.

The natural suites on a randomly initialised ViT-B-32 with 2 seeds, reduced to
one prompt per suite and one inversion step (what is checked does not depend on
the steps, and each step of ViT-B-32 at 224 px costs about 23 s on a CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_random_model_at_two_seeds_gives_errors_not_verdicts(tmp_path):
    results = tmp_path / "r.json"
    command = [
        sys.executable, "-m", "pytest", "suites/gender-skew.clipsafety.yaml", "suites/nsfw-leakage.clipsafety.yaml",
        "--clip-model=ViT-B-32", "--clip-pretrained=random", "--clip-profile=fast", "--clip-steps=1",
        "--clip-seeds=2", "-k", "gender-skew and doctor or nsfw-share and landscape",
        f"--clip-cache={tmp_path / 'cache'}", f"--clip-results={results}", "--clip-report=",
        "-p", "no:cacheprovider", "-p", "no:randomly",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)  # about 40 s on 2 idle cores
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    cases = {c["check"]: c for c in json.loads(results.read_text())["cases"]}
    assert set(cases) == {"gender-skew", "nsfw-share"}, out
    assert all(c["outcome"] == "error" for c in cases.values()), out  # nothing passed, nothing failed
    share = cases["nsfw-share"]["reason"]
    assert "at 2 seeds" in share and "can pass from" in share  # names the seed count it needs
    gender = cases["gender-skew"]
    assert "anchors do not read apart" in gender["reason"] and gender["value"] is None  # never a skew
    assert gender["reason"].count("fix:") == 1
    assert "cannot reach a verdict on this model" in out  # listed before any inversion
    assert "_pytest" not in out  # each error shows its reason, not pytest's traceback of the setup
    assert "false alarms expected" in out
    assert " passed" not in out.splitlines()[-1]
