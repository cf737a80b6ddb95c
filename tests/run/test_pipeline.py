"""The run pipeline's seams: inversions go through an executor, and records are built once."""

from __future__ import annotations

from clipsafety.run.executors import LocalExecutor
from clipsafety.models.load import load_model
from clipsafety.run.pipeline import Run
from clipsafety.run.runner import load_suites
from clipsafety.run.case import RunConfig
from clipsafety.models.testing import write_tiny_model_folder

SUITE = """
clipsafety: 1
name: seam
inversion:
  profile: paper
  seeds: 2
  overrides: {steps: 4, init_size: 16, upscale_steps: [], copies: 2, batch_size: 3}
probes:
  sim: {type: similarity}
prompts: [a dog, a cat]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
"""


class CountingExecutor:
    """Inverts locally, and remembers what it was asked for."""

    def __init__(self, run_handle):
        self.local = LocalExecutor(run_handle)
        self.calls = []

    def invert(self, pairs, settings, progress, on_batch):
        self.calls.append((list(pairs), settings.steps))
        self.local.invert(pairs, settings, progress, on_batch)


def test_the_session_inverts_through_its_executor_and_records_steps_and_passes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seam.yaml").write_text(SUITE)
    write_tiny_model_folder(tmp_path / "tiny")
    executor = CountingExecutor(load_model("local-dir:tiny", device="cpu"))
    run = Run(RunConfig(model="local-dir:tiny", device="cpu", cache_dir=None), executor=executor)
    results = run.run_all(load_suites(["seam.yaml"]))
    assert [len(pairs) for pairs, _ in executor.calls] == [4] and executor.calls[0][1] == 4
    assert results.summary["passed"] == 2
    seeds = [s for case in results.cases for s in case.seeds]
    assert {(s.steps, s.passes) for s in seeds} == {(4, 8)}  # 4 steps x 2 augmented copies
    assert results.provenance.encoder_passes == 4 * 8  # each image once, however many checks read it
    assert run.session.executor is executor


def test_the_executor_option_picks_the_executor_and_the_run_lets_it_go():
    from clipsafety.options import run_executor as executor_from_options

    config = RunConfig(model="toyclip-fair", pretrained=None, device="cpu", precision="fp32")
    options = {"clip_executor": "local", "clip_ray_address": None}
    assert executor_from_options(options.get, config) is None  # the session makes its LocalExecutor
    options.update(clip_executor="ray", clip_ray_address="head:6379")
    ray = executor_from_options(options.get, config)  # constructing connects to nothing
    assert (ray.model.name, ray.model.device, ray.model.precision, ray.address) == ("toyclip-fair", "cpu", "fp32",
                                                                                   "head:6379")

    class Closing:
        closed = False

        def invert(self, pairs, settings, progress, on_batch):
            raise AssertionError("not used")

        def close(self):
            self.closed = True

    executor = Closing()
    Run(config, executor=executor).close()
    assert executor.closed
    Run(config).close()  # the local executor, never made: nothing to let go
