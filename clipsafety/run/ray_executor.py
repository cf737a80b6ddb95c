"""Run the inversion batches on a Ray cluster (the optional extra: pip install 'clipsafety[ray]').

`RayExecutor` has the executor interface the run pipeline calls:

    executor.invert(pairs, settings, progress, on_batch)

It splits the (prompt, seed) pairs into batches of `settings.batch_size`, as
the local loop does, and sends each batch to one of a pool of Ray actors: one
per GPU (`num_gpus=1`), or one per `num_cpus` CPUs on a CPU-only cluster. Each
actor loads the model once, by name and pretrained source through
`load_model` (weights never travel through the driver), and runs
`invert_pairs` on its batches. The driver hands each finished batch to
`on_batch` as soon as every batch before it has come back too (the executor
protocol delivers results in the order of `pairs`; workers finish in any
order), so an interrupted run keeps the finished batches.

Faults: an actor whose process dies is restarted by Ray (`max_restarts`) and
its batch retried (`max_task_retries`); a worker that cannot load the model
fails the run at once with the worker's own message; Ctrl-C cancels the
outstanding batches, kills the actors and re-raises.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from dataclasses import replace
from typing import Any, Callable

from ..util.errors import ClipSafetyError, ModelLoadError
from .ray_worker import InversionWorker, WorkerModel, WorkerSetup

INSTALL_HINT = "pip install 'clipsafety[ray]'"
WAIT_SECONDS = 0.5  # the driver's ray.wait slice: Ctrl-C is seen within this


def import_ray():
    """The ray module, or a ClipSafetyError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ClipSafetyError(
            "--clip-executor=ray needs Ray, which is not installed", fix=f"{INSTALL_HINT}, or use --clip-executor=local"
        ) from None
    return ray


def resolve_address(address: str | None, env: dict[str, str] | None = None) -> str:
    """The cluster to use: the explicit address, else RAY_ADDRESS, else 'auto'.

    'auto': a cluster already started on this machine (`ray start --head`), or a new local one;
    'local': always a new local cluster; anything else: an existing cluster's address.
    """
    env = os.environ if env is None else env
    chosen = (address or "").strip() or env.get("RAY_ADDRESS", "").strip()
    return chosen or "auto"


class RayExecutor:
    """Inversion batches on a Ray cluster; results identical to the local loop's.

    model: a ModelHandle, a model spec or a WorkerModel (name, pretrained, device, precision).
    address: see `resolve_address`. num_gpus: per actor (None: 1 when the cluster has GPUs and
    the device is not cpu, else 0). num_cpus: per actor, also its torch threads. workers: the
    number of actors (None: as many as the cluster's GPUs or CPUs hold). local_cpus: the size
    of a local cluster this executor starts. init_options: more ray.init keywords (runtime_env...).
    """

    def __init__(self, model: Any, address: str | None = None, *, num_gpus: float | None = None,
                 num_cpus: float = 1.0, workers: int | None = None, local_cpus: int | None = None,
                 max_restarts: int = 3, init_options: dict | None = None):
        if num_cpus <= 0 or (num_gpus is not None and num_gpus < 0) or (workers is not None and workers < 1):
            raise ClipSafetyError("Ray executor: need num_cpus > 0, num_gpus >= 0 and workers >= 1")
        self.model = WorkerModel.of(model)
        self.address = address
        self.num_gpus = num_gpus
        self.num_cpus = num_cpus
        self.workers = workers
        self.local_cpus = local_cpus
        self.max_restarts = max_restarts
        self.init_options = dict(init_options or {})
        self.restarts_seen = 0  # batches that came back from a restarted actor
        self._owns_ray = False
        self._gpus_per_actor: float | None = None
        self._actors: list = []
        self._pids: list[int | None] = []
        self._starting: dict = {}  # ready() ref -> actor index
        self._idle: deque[int] = deque()
        self._running: dict = {}  # invert_batch ref -> (batch index, actor index)

    # -- the executor interface ------------------------------------------------

    def invert(self, pairs, settings, progress: Callable | None = None,
               on_batch: Callable[[list], None] | None = None) -> None:
        pairs = [(str(p), int(s)) for p, s in pairs]
        if not pairs:
            return
        size = settings.batch_size
        batches = [pairs[i : i + size] for i in range(0, len(pairs), size)]
        try:
            self._start(len(batches))
            tally = _Tally(progress, settings.steps, batches, len(self._actors))
            tally.report()
            self._run(batches, settings, tally, on_batch)
        except BaseException:  # Ctrl-C, a failed worker, a failing on_batch: stop the cluster's work
            self._abort()
            raise

    def worker_pids(self) -> list[int]:
        """Process ids of the actors known to be up (tests kill them to check the retries)."""
        return [pid for pid in self._pids if pid is not None]

    def close(self) -> None:
        """Kill the actors; shut Ray down if this executor started it."""
        self._abort()
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- connecting and starting actors ----------------------------------------

    def _connect(self):
        ray = import_ray()
        if ray.is_initialized():
            return ray  # the caller's cluster: use it, leave it running
        address = resolve_address(self.address)
        quiet = {"logging_level": logging.ERROR, "log_to_driver": False, **self.init_options}
        local = {"num_cpus": self.local_cpus, "include_dashboard": False, **quiet}
        try:
            if address == "local":
                ray.init(address="local", **local)
            elif address == "auto":
                try:
                    ray.init(address="auto", **quiet)
                except ConnectionError:  # none running on this machine: start one
                    ray.init(address="local", **local)
            else:
                _check_reachable(address)
                ray.init(address=address, **quiet)
        except ClipSafetyError:
            raise
        except Exception as err:
            raise ClipSafetyError(
                f"could not connect to the Ray cluster at {address!r}: {type(err).__name__}: {err}",
                fix="check RAY_ADDRESS or --clip-ray-address (host:port, ray://host:10001, or auto for a local cluster)",
            ) from None
        self._owns_ray = True
        return ray

    def _start(self, batches: int) -> None:
        """Connect, and start actors up to the cluster's capacity (no more than the batches)."""
        ray = self._connect()
        resources = ray.cluster_resources()
        if self._gpus_per_actor is None:
            self._gpus_per_actor = self._choose_gpus(resources)
        wanted = min(self._capacity(resources), batches)
        setup = self._setup()
        actor_class = ray.remote(InversionWorker).options(
            num_gpus=self._gpus_per_actor, num_cpus=self.num_cpus,
            max_restarts=self.max_restarts, max_task_retries=self.max_restarts,
        )
        while len(self._actors) < wanted:
            actor = actor_class.remote(setup)
            self._starting[actor.ready.remote()] = len(self._actors)
            self._actors.append(actor)
            self._pids.append(None)

    def _choose_gpus(self, resources: dict) -> float:
        if self.num_gpus is not None:
            return float(self.num_gpus)
        device = self.model.device.lower()
        has_gpus = resources.get("GPU", 0) > 0
        if device.startswith("cuda") and not has_gpus:
            raise ClipSafetyError(
                f"device {self.model.device!r} asked for, but the Ray cluster has no GPUs",
                fix="use --clip-device=cpu (or auto), or connect to a cluster with GPU nodes",
            )
        return 1.0 if has_gpus and device != "cpu" else 0.0

    def _capacity(self, resources: dict) -> int:
        if self.workers is not None:
            return self.workers  # the user knows (an autoscaling cluster may show none yet)
        if self._gpus_per_actor:
            kind, have, need = "GPU", resources.get("GPU", 0.0), self._gpus_per_actor
        else:
            kind, have, need = "CPU", resources.get("CPU", 0.0), self.num_cpus
        count = int(have // need)
        if count < 1:
            raise ClipSafetyError(
                f"the Ray cluster has {have:g} {kind}(s); one worker asks for {need:g}",
                fix="ask for less per worker, or give the number of workers explicitly once nodes are coming",
            )
        return count

    def _setup(self) -> WorkerSetup:
        import torch

        from ..cache import INVERSION_CODE_VERSION

        if self.model.fingerprint is None:  # workers must match the driver's weights, whose keys the cache uses
            self.model = replace(self.model, fingerprint=self._driver_fingerprint())
        return WorkerSetup(
            model=self.model,
            device="cuda" if self._gpus_per_actor and self.model.device.lower() != "cpu" else "cpu",
            threads=max(1, int(self.num_cpus)),
            default_dtype=str(torch.get_default_dtype()).removeprefix("torch."),
            deterministic=torch.are_deterministic_algorithms_enabled(),
            code_version=INVERSION_CODE_VERSION,
        )

    def _driver_fingerprint(self) -> str:
        """The fingerprint of the driver's copy of the model: a run has loaded it already for its
        cache keys, with these same arguments, and load_model keeps one copy per process."""
        from ..models.load import load_model

        m = self.model
        return load_model(m.name, m.pretrained, device=m.device, precision=m.precision,
                          cache_dir=m.cache_dir).fingerprint

    # -- running the batches ---------------------------------------------------

    def _run(self, batches: list, settings, tally: "_Tally", on_batch) -> None:
        ray = import_ray()
        todo = deque(range(len(batches)))
        finished: dict[int, list] = {}  # batches done ahead of an earlier one still running
        delivered = 0
        while todo or self._running:
            self._submit(todo, batches, settings)
            waiting = list(self._running) + list(self._starting)
            if not waiting:
                raise ClipSafetyError("Ray executor: no worker left to run the remaining batches")
            ready, _ = ray.wait(waiting, num_returns=1, timeout=WAIT_SECONDS)
            for ref in ready:
                if ref in self._starting:
                    self._check_ready(ray, ref)
                    continue
                index, actor = self._running.pop(ref)
                finished[index] = self._collect(ray, ref, actor, batches[index], f"batch {index + 1}/{len(batches)}")
                self._idle.append(actor)
                self._submit(todo, batches, settings)  # keep the worker busy while the driver stores
                tally.batch_done(len(finished[index]))
            while delivered in finished:  # the executor protocol: results in the order of `pairs`
                results = finished.pop(delivered)
                delivered += 1
                if on_batch is not None:
                    on_batch(results)

    def _submit(self, todo: deque, batches: list, settings) -> None:
        while self._idle and todo:
            actor, index = self._idle.popleft(), todo.popleft()
            ref = self._actors[actor].invert_batch.remote(batches[index], settings)
            self._running[ref] = (index, actor)

    def _check_ready(self, ray, ref) -> None:
        actor = self._starting.pop(ref)
        try:
            pid, host, error = ray.get(ref)
        except ray.exceptions.RayError as err:
            raise ClipSafetyError(
                f"a Ray worker could not start: {_first_line(err)}",
                fix="install clipsafety (the same version) on every node, or pass a runtime_env",
            ) from None
        if error is not None:
            raise ModelLoadError(f"a Ray worker ({host}, pid {pid}) could not load the model: {error}")
        self._pids[actor] = pid
        self._idle.append(actor)

    def _collect(self, ray, ref, actor: int, pairs: list, label: str) -> list:
        try:
            pid, error, results = ray.get(ref)
        except ray.exceptions.RayActorError as err:
            raise ClipSafetyError(
                f"a Ray worker died running {label}, and {self.max_restarts} restarts did not save it: "
                f"{_first_line(err)}",
                fix="read the worker's log on its node (out of memory? a lost node?); a smaller batch_size needs less",
            ) from None
        except ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            if isinstance(cause, ClipSafetyError):
                raise cause from None
            raise ClipSafetyError(f"{label} failed on a Ray worker: {_first_line(cause or err)}") from None
        if error is not None:
            raise ModelLoadError(f"a restarted Ray worker (pid {pid}) could not load the model: {error}")
        if [(r.prompt, r.seed) for r in results] != pairs:
            raise ClipSafetyError(f"{label}: a Ray worker returned other images than it was sent",
                                  fix="install the same clipsafety version on the driver and every node")
        if pid != self._pids[actor]:
            self.restarts_seen += 1
            self._pids[actor] = pid
        return results

    def _abort(self) -> None:
        """Cancel what is outstanding and kill the actors (a later invert starts fresh ones)."""
        if not self._actors:
            return
        import ray

        for ref in list(self._running) + list(self._starting):
            try:
                ray.cancel(ref)
            except Exception:  # already finished, or its actor already gone
                pass
        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:
                pass
        self._actors, self._pids = [], []
        self._starting, self._running, self._idle = {}, {}, deque()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse at once an address nothing listens at (Ray itself retries for minutes)."""
    host, _, port = address.split("://", 1)[-1].rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: let Ray judge it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return
    except OSError as err:
        raise ClipSafetyError(
            f"nothing answers at the Ray cluster address {address!r}: {err.strerror or err}",
            fix="check RAY_ADDRESS or --clip-ray-address (the head node's host:port, or ray://host:10001), "
            "and that the cluster is up (ray status on the head node)",
        ) from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


class _Tally:
    """Cluster-wide progress: batches finished anywhere, reported as the local loop's Progress."""

    def __init__(self, progress: Callable | None, steps: int, batches: list, workers: int):
        self.progress = progress
        self.steps = steps
        self.batches = len(batches)
        self.images_total = sum(len(b) for b in batches)
        self.workers = workers
        self.done = 0
        self.images_done = 0

    def report(self, step: int = 0, images_before: int = 0) -> None:
        if self.progress is None:
            return
        from ..invert import Progress

        batch = max(self.done - 1, 0)
        extra = {"executor": "ray", "workers": self.workers, "batches_done": self.done}
        self.progress(Progress(step, self.steps, batch, self.batches, images_before, self.images_total, extra))

    def batch_done(self, images: int) -> None:
        before = self.images_done
        self.done += 1
        self.images_done += images
        self.report(self.steps, before)
