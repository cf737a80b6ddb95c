"""An interrupted run loses nothing: no partial cache entry, and a rerun resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from clipsafety.cache import _read_entry
from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: slow
inversion:
  profile: paper
  seeds: 3
  overrides: {steps: 60, init_size: 16, upscale_steps: [], copies: 2, batch_size: 1}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
"""


def _start(path):
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--clip-model=local-dir:tiny",
         "--clip-report=", "slow.yaml"],
        cwd=path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A test run started in the background (`pytest tests/ &`) ignores SIGINT, and a child inherits
        # that: Python then never installs its Ctrl-C handler and the run ends with exit status 0.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _entries(path):
    return sorted(p for p in (path / ".clipsafety-cache").rglob("*.npz") if not p.name.startswith(".tmp-"))


def _wait_for_entries(proc, path, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(_entries(path)) >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"run ended before {count} entries:\n{proc.stdout.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no cache entries appeared")


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "slow.yaml").write_text(SUITE)
    write_tiny_model_folder(tmp_path / "tiny")
    return tmp_path


def _whole_entries(path):
    kept = _entries(path)
    for entry in kept:  # every entry that exists reads back whole
        assert _read_entry(entry).image.shape == (16, 16, 3)
    return kept


def test_killed_then_interrupted_run_leaves_whole_entries_and_resumes(workdir):
    """A kill, then a Ctrl-C of the resumed run, then a rerun to the end (three runs, not four:
    each run costs about 7 s of imports here)."""
    proc = _start(workdir)
    _wait_for_entries(proc, workdir, 1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    after_kill = _whole_entries(workdir)
    assert 1 <= len(after_kill) < 6

    proc = _start(workdir)  # resumes from the cache, and is stopped with Ctrl-C in turn
    _wait_for_entries(proc, workdir, len(after_kill) + 1)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in output or "Interrupted" in output
    kept = _whole_entries(workdir)
    assert len(after_kill) < len(kept) < 6

    rerun = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--clip-model=local-dir:tiny",
         "--clip-report=", "slow.yaml"], cwd=workdir, capture_output=True, text=True, timeout=300,
    )
    assert rerun.returncode == 0, rerun.stdout
    assert f"{6 - len(kept)} images inverted" in rerun.stdout
    assert f"{len(kept)} read from the cache" in rerun.stdout
    assert len(_entries(workdir)) == 6
