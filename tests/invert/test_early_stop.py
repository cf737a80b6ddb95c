"""Early stopping per image and the slot loop that refills a batch (tiny random CLIP, CPU)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from clipsafety.util.errors import ClipSafetyError
from clipsafety.invert import PROFILES, get_settings, invert_pairs
from clipsafety.invert.early_stop import PlateauTracker

PAIRS = [(p, s) for p in ["a dog", "a red circle", "a cat", "a tree"] for s in (0, 1)]


def stopping(profile="toy", **overrides):
    """Settings whose images stop at visibly different steps on the tiny model (16 px)."""
    base = dict(steps=40, batch_size=8, copies=4, early_stop=True, early_stop_window=5,
                early_stop_tolerance=0.0, early_stop_min_steps=10)
    if profile != "toy":
        base.update(init_size=4, upscale_steps=(6, 12))
    base.update(overrides)
    return get_settings(profile, **base)


def by_pair(results):
    return {(r.prompt, r.seed): r for r in results}


def test_plateau_tracker_stops_on_a_flat_series_and_not_on_a_rising_one():
    flat = PlateauTracker(window=3, tolerance=0.01, min_steps=0)
    assert [flat.update(0.5, step) for step in range(1, 8)] == [False] * 5 + [True, True]  # two full windows
    rising = PlateauTracker(window=3, tolerance=0.01, min_steps=0)
    assert not any(rising.update(0.1 * step, step) for step in range(1, 20))


def test_plateau_tracker_waits_for_min_steps_and_restarts_after_an_upscale():
    late = PlateauTracker(window=2, tolerance=0.0, min_steps=10)
    assert [late.update(0.5, step) for step in range(1, 12)] == [False] * 9 + [True, True]
    tracker = PlateauTracker(window=2, tolerance=0.0, min_steps=0)
    assert [tracker.update(0.5, step) for step in range(1, 5)] == [False, False, False, True]
    tracker.restart()
    assert tracker.update(0.5, 5) is False and tracker.rise() is None


@pytest.mark.parametrize("profile", ["toy", "paper"])
def test_a_pair_gives_the_same_image_and_steps_whatever_its_batch_and_order(tiny_handle, profile):
    settings = stopping(profile)
    reference = by_pair(invert_pairs(tiny_handle, PAIRS, settings))
    steps = sorted({r.steps for r in reference.values()})
    assert len(steps) >= 2 and steps[0] < settings.steps, steps  # images really stop, at different steps
    shuffled = PAIRS[:]
    random.Random(0).shuffle(shuffled)
    for batch_size, order in [(1, PAIRS), (3, shuffled), (3, PAIRS[::-1]), (8, shuffled)]:
        results = invert_pairs(tiny_handle, order, stopping(profile, batch_size=batch_size))
        assert [(r.prompt, r.seed) for r in results] == order  # input order
        for r in results:
            ref = reference[(r.prompt, r.seed)]
            assert r.steps == ref.steps, (batch_size, r.prompt, r.seed)
            assert np.array_equal(r.image, ref.image), (batch_size, r.prompt, r.seed)
            assert r.similarity == pytest.approx(ref.similarity, abs=1e-5)  # measured in another batch


def test_an_image_stops_only_at_full_size_after_two_windows(tiny_handle):
    settings = stopping("paper", early_stop_min_steps=0)
    results = invert_pairs(tiny_handle, PAIRS[:4], settings)
    last_upscale, window = settings.upscale_steps[-1], settings.early_stop_window
    assert all(r.image.shape == (16, 16, 3) for r in results)  # the model's input size, never a smaller stage
    assert all(last_upscale + 2 * window <= r.steps for r in results), [r.steps for r in results]
    assert any(r.steps < settings.steps for r in results)


def test_steps_and_passes_are_recorded_per_image(tiny_handle):
    settings = stopping(copies=3)
    stopped = invert_pairs(tiny_handle, PAIRS[:4], settings)
    assert all(r.passes == r.steps * 3 for r in stopped)
    assert all(settings.early_stop_min_steps <= r.steps < settings.steps for r in stopped)
    full = invert_pairs(tiny_handle, PAIRS[:2], get_settings("toy", steps=12, copies=3))
    assert [(r.steps, r.passes) for r in full] == [(12, 36), (12, 36)]


def test_a_freed_slot_is_refilled_so_no_batch_waits_for_its_slowest_image(tiny_handle, monkeypatch):
    settings = stopping(batch_size=3)
    encoder_batches = []
    real = tiny_handle.encode_images
    monkeypatch.setattr(tiny_handle, "encode_images",
                        lambda x: (encoder_batches.append(x.shape[0]), real(x))[1])
    results = invert_pairs(tiny_handle, PAIRS, settings)
    steps = [r.steps for r in results]
    optimisation = [n for n in encoder_batches if n % settings.copies == 0 and n >= settings.copies]
    held = sum(max(steps[i : i + 3]) for i in range(0, len(steps), 3))  # fixed batches wait for the slowest
    assert len(optimisation) < held, (len(optimisation), held, steps)
    assert sum(n // settings.copies for n in optimisation) == sum(steps)  # every image-step ran once
    full = [n for n in optimisation if n == 3 * settings.copies]
    assert len(full) >= len(optimisation) - max(steps)  # the slots stay full until the queue runs dry


def test_on_batch_gets_every_result_once_in_input_order_while_the_run_goes_on(tiny_handle):
    seen, calls, events = [], [], []
    results = invert_pairs(tiny_handle, PAIRS, stopping(batch_size=3), progress=events.append,
                           on_batch=lambda batch: (calls.append(len(events)), seen.extend(batch)))
    assert seen == results
    assert len(calls) >= 2 and calls[0] < len(events)  # results arrive as they finish, not at the end
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    done = [e.images_done for e in events]
    assert done == sorted(done) and done[-1] == len(PAIRS)
    positions = [(e.batch, e.step) for e in events]
    assert positions == sorted(positions)  # the progress line never sees work go backwards


def test_early_stopping_is_off_in_every_profile_and_off_leaves_the_cache_keys_alone():
    assert not any(s.early_stop for s in PROFILES.values())
    # the keys of the profiles before early stopping existed: cached images stay valid
    assert {n: s.key() for n, s in PROFILES.items()} == {
        "paper": "3825bd793eafd4b9", "toy": "ce698323988824a4", "fast": "f9d4d3460a1362d4"}
    toy = PROFILES["toy"]
    assert get_settings("toy", early_stop_tolerance=0.5).key() == toy.key()  # unused while off
    on = get_settings("toy", early_stop=True)
    assert on.key() != toy.key()
    assert get_settings("toy", early_stop=True, early_stop_tolerance=0.5).key() != on.key()


@pytest.mark.parametrize("field, value, message", [
    ("early_stop_window", 0, "early_stop_window must be >= 1"),
    ("early_stop_tolerance", -0.1, "early_stop_tolerance must be >= 0"),
    ("early_stop_min_steps", -1, "early_stop_min_steps must be >= 0"),
])
def test_bad_early_stop_settings_are_clear_errors(field, value, message):
    with pytest.raises(ClipSafetyError, match=message):
        get_settings("toy", early_stop=True, **{field: value})
