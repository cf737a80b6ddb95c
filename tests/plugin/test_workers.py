"""Each xdist worker takes its own GPU, within any outer CUDA_VISIBLE_DEVICES."""

from clipsafety.plugin.workers import gpu_for_worker, visible_gpus, worker_index


def test_worker_index():
    assert worker_index("gw0") == 0 and worker_index("gw12") == 12
    assert worker_index("master") is None and worker_index("") is None


def test_each_worker_takes_its_own_gpu():
    assert [gpu_for_worker(f"gw{i}", {}, 4) for i in range(4)] == ["0", "1", "2", "3"]


def test_outer_visible_devices_are_respected():
    env = {"CUDA_VISIBLE_DEVICES": "2,5"}
    assert visible_gpus(env, 8) == ["2", "5"]
    assert [gpu_for_worker(f"gw{i}", env, 8) for i in range(3)] == ["2", "5", "2"]


def test_single_gpu_or_none_leaves_the_environment_alone():
    assert gpu_for_worker("gw1", {}, 1) is None
    assert gpu_for_worker("gw1", {}, 0) is None
    assert gpu_for_worker("gw0", {"CUDA_VISIBLE_DEVICES": ""}, 4) is None
    assert gpu_for_worker("master", {}, 4) is None
