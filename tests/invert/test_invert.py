"""The inversion engine on a tiny random-init CLIP (no download, CPU only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clipsafety.util.errors import ClipSafetyError
from clipsafety.invert import PROFILES, get_settings, invert, invert_pairs
from clipsafety.invert import param as P
from clipsafety.invert.objectives import LossInputs, total_variation
from clipsafety.invert.transforms import augment

PROMPTS = ["a red circle", "a dog"]


def quick(profile="paper", **overrides):
    """A profile shortened for the tiny model (16 px input)."""
    base = {"steps": 30, "batch_size": 8}
    if profile != "toy":
        base.update(init_size=4, upscale_steps=(10, 20))
    base.update(overrides)
    return get_settings(profile, **base)


@torch.no_grad()
def image_similarity(handle, images: np.ndarray, prompts: list[str]) -> np.ndarray:
    """Cosine similarity of uint8 images [N,H,W,3] to their prompts under the model."""
    pixels = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float().div(255).to(handle.device)
    return (handle.encode_images(pixels) * handle.encode_text(list(prompts))).sum(-1).cpu().numpy()


def test_similarity_rises_clearly_above_noise(tiny_handle):
    results = invert(tiny_handle, PROMPTS, [0, 1], quick(steps=40))
    reached = np.array([r.similarity for r in results])
    noise = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    start = image_similarity(tiny_handle, noise, [r.prompt for r in results])
    assert all(r.ok for r in results)
    assert reached.mean() > start.mean() + 0.1, (reached, start)


def test_batched_equals_one_at_a_time(tiny_handle):
    settings = quick()
    together = invert(tiny_handle, PROMPTS, [3, 4, 5], settings)
    for r in together:
        alone = invert_pairs(tiny_handle, [(r.prompt, r.seed)], settings)[0]
        assert np.array_equal(alone.image, r.image), (r.prompt, r.seed)
        assert alone.similarity == pytest.approx(r.similarity, abs=1e-5)  # matmul order differs by batch


def test_batch_size_does_not_change_results(tiny_handle):
    big = invert(tiny_handle, PROMPTS, [0, 1, 2], quick(batch_size=6))
    small = invert(tiny_handle, PROMPTS, [0, 1, 2], quick(batch_size=4))
    assert [(r.prompt, r.seed) for r in big] == [(r.prompt, r.seed) for r in small]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(big, small))


def test_same_seed_same_image_different_seed_different_image(tiny_handle):
    settings = quick()
    first = invert(tiny_handle, ["a dog"], [7, 8], settings)
    again = invert(tiny_handle, ["a dog"], [7], settings)
    assert np.array_equal(first[0].image, again[0].image)
    assert not np.array_equal(first[0].image, first[1].image)


def test_result_carries_image_and_settings(tiny_handle):
    settings = quick(profile="toy", steps=5)
    r = invert(tiny_handle, ["a dog"], [0], settings)[0]
    assert r.image.dtype == np.uint8 and r.image.shape == (16, 16, 3)
    assert r.settings == settings.to_dict()
    assert -1.0 <= r.similarity <= 1.0


def test_paper_profile_matches_the_reference_recipe():
    s = PROFILES["paper"]
    assert (s.steps, s.lr, s.copies) == (3400, 0.1, 13)
    assert (s.rotate_deg, s.translate, s.scale_min, s.scale_max, s.affine_p) == (30.0, 0.1, 0.7, 1.2, 0.5)
    assert (s.param, s.init, s.init_size, s.upscale_steps) == ("pixels", "uniform", 64, (900, 1800))
    assert (s.tv_weight, s.l1_weight, s.grad_clip) == (0.005, 0.0, 1.0)
    assert P.resolution_schedule(s, 224) == (64, {900: 128, 1800: 224})
    assert P.resolution_schedule(s, 96) == (64, {900: 96})  # capped at the input size


def test_unknown_setting_or_profile_is_a_clear_error():
    with pytest.raises(ClipSafetyError, match="did you mean 'steps'"):
        get_settings("paper", stepz=10)
    with pytest.raises(ClipSafetyError, match="unknown inversion profile 'papr'.*did you mean 'paper'"):
        get_settings("papr")
    with pytest.raises(ClipSafetyError, match="copies must be >= 1"):
        get_settings("paper", copies=0)


def test_steps_copies_and_resolution_are_honoured(tiny_handle, monkeypatch):
    seen_views, adams, events = [], [], []
    real_encode = tiny_handle.encode_images
    monkeypatch.setattr(tiny_handle, "encode_images", lambda x: (seen_views.append(tuple(x.shape)), real_encode(x))[1])
    real_adam = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda params, lr: (adams.append(lr), real_adam(params, lr=lr))[1])
    real_up = P.upscale
    sizes = []
    monkeypatch.setattr(P, "upscale", lambda p, size, s: (sizes.append(size), real_up(p, size, s))[1])

    settings = quick(steps=12, copies=3, lr=0.02, upscale_steps=(4, 8))
    invert(tiny_handle, ["a dog", "a cat"], [0], settings, progress=events.append)
    assert seen_views[0] == (2 * 3, 3, 16, 16)  # batch x copies, at the model's input size
    assert len(seen_views) == 12 + 1  # one forward per step, one to measure the result
    assert sizes == [8, 16]  # 4 -> 8 -> 16 at steps 4 and 8
    assert adams == [0.02, 0.02, 0.02]  # Adam re-created at each upscale, with the given lr
    assert [e.step for e in events] == list(range(1, 13)) and events[-1].fraction == 1.0


def test_gradient_clip_is_per_image(tiny_handle, monkeypatch):
    norms = []
    real_step = torch.optim.Adam.step

    def spy(self, *a, **k):
        grad = self.param_groups[0]["params"][0].grad
        norms.append(grad.flatten(1).norm(dim=1))
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    invert(tiny_handle, PROMPTS, [0], quick(steps=5, grad_clip=1e-4, upscale_steps=()))
    assert all(n.max() <= 1e-4 * 1.001 for n in norms)
    norms.clear()
    invert(tiny_handle, PROMPTS, [0], quick(steps=5, grad_clip=None, upscale_steps=()))
    assert max(n.max() for n in norms) > 1e-4


def test_tv_and_l1_weights_are_honoured(tiny_handle):
    def tv_of(settings):
        images = [r.image for r in invert(tiny_handle, PROMPTS, [0, 1], settings)]
        pixels = torch.tensor(np.stack(images)).permute(0, 3, 1, 2).float() / 255
        return total_variation()(LossInputs(pixels, None, None)).mean().item(), pixels.mean().item()

    tv_none, mean_none = tv_of(quick(steps=30, tv_weight=0.0, upscale_steps=(), init_size=None))
    tv_high, _ = tv_of(quick(steps=30, tv_weight=5.0, upscale_steps=(), init_size=None))
    _, mean_l1 = tv_of(quick(steps=30, tv_weight=0.0, l1_weight=5.0, upscale_steps=(), init_size=None))
    assert tv_high < 0.7 * tv_none
    assert mean_l1 < mean_none - 0.05


def test_identity_augmentation_is_identity_and_strengths_change_views():
    pixels = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    none = get_settings("paper", rotate_deg=0, translate=0, scale_min=1, scale_max=1, affine_p=1.0, copies=2)
    views = augment(pixels, [torch.Generator().manual_seed(i) for i in range(2)], none, 16)
    assert torch.allclose(views, pixels.repeat_interleave(2, dim=0), atol=1e-5)
    for strength in ({"rotate_deg": 30}, {"translate": 0.2}, {"scale_min": 0.7}, {"crop_min": 0.5},
                     {"brightness": 0.3}, {"noise_std": 0.1}):
        strong = get_settings("paper", **{**none.to_dict(), **strength})
        moved = augment(pixels, [torch.Generator().manual_seed(i) for i in range(2)], strong, 16)
        assert (moved - views).abs().max() > 0.01, strength


def test_sigmoid_parametrisation_stays_in_range(tiny_handle):
    settings = quick(profile="toy", steps=10, lr=5.0)
    r = invert(tiny_handle, ["a dog"], [0], settings)[0]
    assert r.ok and r.image.min() >= 0 and r.image.max() <= 255


def test_nan_stops_one_image_and_leaves_the_others(tiny_handle, monkeypatch):
    settings = quick(steps=10, copies=2, upscale_steps=())
    reference = invert_pairs(tiny_handle, [("a dog", 1)], settings)[0]
    calls = {"n": 0}
    real = tiny_handle.encode_images

    def poisoned(x):
        out = real(x)
        calls["n"] += 1
        if calls["n"] > 3 and x.shape[0] == 4:  # from step 3 on, the first image's copies go NaN
            out = out.clone()
            out[:2] = float("nan")
        return out

    monkeypatch.setattr(tiny_handle, "encode_images", poisoned)
    bad, good = invert_pairs(tiny_handle, [("a cat", 0), ("a dog", 1)], settings)
    assert not bad.ok and "step 3" in bad.error and "a cat" in bad.error and bad.image is None
    assert good.ok and np.array_equal(good.image, reference.image)


def test_gpu_benchmark_smoke_runs_on_the_cpu_and_prints_its_table(capsys):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[2] / "bench" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_gpu"] = bench  # its dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
        assert bench.main(["--smoke", "--check-steps", "2"]) == 0
        out = capsys.readouterr().out
        assert bench.main(["--smoke", "--check-steps", "2", "--tolerance", "-1", "--no-natural"]) == 1
        assert "FAIL" in capsys.readouterr().out  # a failed check fails
    finally:
        del sys.modules["bench_gpu"]
    assert "|bf16 - fp32|" in out and "PASS" in out
    steps, natural = out.split("the natural suites")
    table = [line for line in steps.splitlines() if line.startswith("| fp32 |") or line.startswith("| bf16 |")]
    assert len(table) == 3 and not any("error" in line or "skipped" in line for line in table), out
    # the shipped gender suite on the bundled synthetic model, run as a user runs it: 2 anchors x 2 seeds
    (row,) = [line for line in natural.splitlines() if line.startswith("| fp32 |")]
    assert row.split("|")[2].strip() == "4" and "not compared (no CUDA)" in natural
    assert bench.peak_tflops("NVIDIA H100 80GB HBM3", None) == 989.4
    assert bench.peak_tflops("NVIDIA L40S", None) == 362.1 and bench.peak_tflops("NVIDIA L4", None) == 121.0
    assert bench.peak_tflops("Some GPU", None) is None and bench.peak_tflops("Some GPU", 50.0) == 50.0
