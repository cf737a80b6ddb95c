"""The Ray executor on a local Ray cluster: CPU only, the toy model, a few steps.

One cluster and one pool of two single-thread workers serve the module (Ray and
its workers take seconds to start); the tests that kill the pool come last.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import sys
import time

import pytest
import torch

from clipsafety.cache import image_sha256
from clipsafety.util.errors import ClipSafetyError, ModelLoadError
from clipsafety.invert import get_settings, invert_pairs
from clipsafety.models.load import load_model
from clipsafety.options import add_to_argparse, resolve_argparse
from clipsafety.run.ray_executor import RayExecutor, WorkerModel, resolve_address
from clipsafety.run.runner import run_suites
from clipsafety.run.case import RunConfig

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'clipsafety[ray]')"
)

MODEL = WorkerModel("toyclip-fair", device="cpu", precision="fp32")
PAIRS = [("a red circle", 0), ("a blue square", 1), ("a doctor", 2), ("a nurse", 3),
         ("a red circle", 4), ("a green triangle", 5)]


def toy(steps: int = 3, batch_size: int = 2):
    return get_settings("toy", steps=steps, batch_size=batch_size)


@contextlib.contextmanager
def one_torch_thread():
    """In-process runs at the workers' one torch thread (float sums do not depend on the split)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def local_hashes(pairs, settings) -> dict[tuple[str, int], str]:
    """The in-process loop's images."""
    with one_torch_thread():
        results = invert_pairs(load_model("toyclip-fair", device="cpu", precision="fp32"), pairs, settings)
    return {(r.prompt, r.seed): image_sha256(r.image) for r in results}


def hashes(batches) -> dict[tuple[str, int], str]:
    return {(r.prompt, r.seed): image_sha256(r.image) for batch in batches for r in batch}


def delivered_pairs(batches) -> list[tuple[str, int]]:
    return sorted((r.prompt, r.seed) for batch in batches for r in batch)


@pytest.fixture(scope="module")
def executor():
    import ray

    # 3 logical CPUs: the two pool workers, and one for the short-lived failing workers below
    pool = RayExecutor(MODEL, address="local", local_cpus=3, num_cpus=1, workers=2)
    pool.invert(PAIRS[:4], toy(steps=1), None, lambda batch: None)  # start the cluster and both workers
    yield pool
    pool.close()
    assert not ray.is_initialized()  # it started the cluster, so it shut it down


# --------------------------------------------------------------------------- without Ray


def test_missing_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if not installed
    with pytest.raises(ClipSafetyError, match=r"pip install 'clipsafety\[ray\]'"):
        RayExecutor(MODEL).invert(PAIRS[:1], toy(), None, lambda batch: None)


def test_address_explicit_then_environment_then_auto():
    assert resolve_address("head:6379", {"RAY_ADDRESS": "other:6379"}) == "head:6379"
    assert resolve_address(None, {"RAY_ADDRESS": "ray://head:10001"}) == "ray://head:10001"
    assert resolve_address("", {}) == "auto"
    assert resolve_address(None, {"RAY_ADDRESS": "  "}) == "auto"


@needs_ray
def test_address_nothing_listens_at_is_refused_at_once():
    import socket

    import ray

    if ray.is_initialized():  # the executor would join that cluster and never read the address
        pytest.skip("runs before this module's cluster starts (file order)")
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClipSafetyError, match=rf"nothing answers at the Ray cluster address '127.0.0.1:{port}'"):
        RayExecutor(MODEL, address=f"127.0.0.1:{port}").invert(PAIRS[:1], toy(), None, lambda batch: None)
    assert time.monotonic() - started < 10


def test_executor_options_parse_and_refuse_unknown_executors():
    parser = argparse.ArgumentParser()
    add_to_argparse(parser)
    given = resolve_argparse(parser.parse_args(["--clip-executor=ray", "--clip-ray-address=head:6379"]))
    assert (given.get("clip_executor"), given.get("clip_ray_address")) == ("ray", "head:6379")
    unset = resolve_argparse(parser.parse_args([]))
    assert (unset.get("clip_executor"), unset.get("clip_ray_address")) == ("local", None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--clip-executor=spark"])


def test_model_reaches_workers_by_name_never_weights():
    handle = load_model("toyclip-fair", device="cpu", precision="fp32")
    sent = WorkerModel.of(handle)
    assert sent == WorkerModel("toyclip-fair", None, "cpu", "fp32", None, handle.fingerprint)
    assert all(isinstance(v, (str, type(None))) for v in vars(sent).values())


# --------------------------------------------------------------------------- on a local cluster


@needs_ray
def test_ray_images_equal_local_images_batch_by_batch(executor):
    settings = toy()
    batches, reports = [], []
    executor.invert(PAIRS, settings, reports.append, batches.append)

    chunks = [PAIRS[i : i + 2] for i in range(0, len(PAIRS), 2)]
    assert [[(r.prompt, r.seed) for r in b] for b in batches] == chunks  # one call per batch, in order
    assert hashes(batches) == local_hashes(PAIRS, settings)
    assert all(r.ok and r.steps == 3 for b in batches for r in b)

    # progress counts batches done across the cluster: a start, then one report per batch
    assert [p.extra["batches_done"] for p in reports] == [0, 1, 2, 3]
    assert reports[0].fraction == 0.0 and reports[-1].fraction == 1.0
    assert {(p.batches, p.images_total, p.steps) for p in reports} == {(3, 6, 3)}
    assert [p.images_done for p in reports[1:]] == [0, 2, 4]  # images finished before each batch


TOY_SUITE = """
clipsafety: 1
name: ray-toy
inversion:
  profile: toy
  seeds: 2
  overrides: {steps: 3, batch_size: 2}
probes:
  sim: {type: similarity}
prompts: [a doctor, a nurse, a red circle]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
  - {id: unreachable, metric: sim.mean, op: ">", threshold: 0.99}
"""


@needs_ray
def test_a_toy_suite_through_ray_has_the_local_verdicts_and_images(executor, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ray-toy.yaml").write_text(TOY_SUITE)
    config = RunConfig(model="toyclip-fair", device="cpu", precision="fp32", cache_dir=None)
    with one_torch_thread():
        local = run_suites(["ray-toy.yaml"], config)
    remote = run_suites(["ray-toy.yaml"], config, executor=executor)

    def outcomes(results):
        return sorted((c.nodeid, c.outcome, c.value, tuple(s.image for s in c.seeds)) for c in results.cases)

    assert outcomes(remote) == outcomes(local)
    assert sorted(c.outcome for c in local.cases) == ["failed"] * 3 + ["passed"] * 3


@needs_ray
def test_worker_that_cannot_load_the_model_fails_the_run_at_once(executor):
    # the fingerprint given: the driver loads nothing, so only the worker can find the name wrong
    bad = RayExecutor(WorkerModel("toyclip-fiar", device="cpu", fingerprint="0" * 64), workers=1)
    stored = []
    with pytest.raises(ModelLoadError, match=r"(?s)Ray worker.*unknown model 'toyclip-fiar'.*toyclip-fair"):
        bad.invert(PAIRS, toy(), None, stored.append)
    assert stored == [] and bad.worker_pids() == []
    bad.close()
    import ray

    assert ray.is_initialized()  # it joined the cluster it found: closing it leaves that running


@needs_ray
def test_worker_with_other_weights_than_the_driver_fails_the_run(executor):
    other = RayExecutor(WorkerModel("toyclip-fair", device="cpu", fingerprint="0" * 64), workers=1)
    with pytest.raises(ModelLoadError, match="the weights differ"):
        other.invert(PAIRS, toy(), None, lambda batch: None)
    other.close()


@needs_ray
def test_worker_killed_mid_batch_has_its_batch_retried(executor):
    pairs = PAIRS + [("a yellow cross", 6), ("a blue balloon", 7)]
    settings = toy(steps=8, batch_size=2)
    batches, killed = [], []

    def store_and_kill(batch):
        batches.append(batch)
        if not killed:  # each worker was handed a batch before this call: kill one mid-batch
            killed.append(executor.worker_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    executor.invert(pairs, settings, None, store_and_kill)
    assert delivered_pairs(batches) == sorted(pairs)  # each image once, none lost
    assert executor.restarts_seen >= 1 and killed[0] not in executor.worker_pids()
    assert hashes(batches) == local_hashes(pairs, settings)


@needs_ray
def test_ctrl_c_cancels_the_outstanding_batches_and_reraises(executor):
    settings = toy(steps=10, batch_size=1)
    batches, pids = [], []

    def interrupted_while_storing(batch):
        batches.append(batch)
        pids.extend(executor.worker_pids())
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        executor.invert(PAIRS, settings, None, interrupted_while_storing)
    assert len(batches) == 1 and executor.worker_pids() == []
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)  # the workers were killed, not left inverting


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
