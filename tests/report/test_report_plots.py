"""The per-check plots: what they draw (read back from the matplotlib Figure), colours, bytes, speed."""

from __future__ import annotations

import base64
import io
import struct
import time
from types import SimpleNamespace

import pytest
from matplotlib.colors import to_hex
from PIL import Image

from clipsafety.report.plots import (BASELINE_COLOUR, OUTCOME_COLOURS, build_figure, check_plot, plot_for_case,
                                     plot_image, render_png)

SEEDS = [0.12, 0.31, 0.08, 0.44, 0.27]


def a_plot(**overrides):
    fields = dict(check="nsfw-max", metric="nsfw.mean", probe="nsfw", statistic="mean", outcome="failed", op="<=",
                  threshold=0.3, value=0.244, interval=[0.13, 0.36], seed_values=SEEDS,
                  seed_failed=[False, True, False, True, False])
    fields.update(overrides)
    return check_plot(**fields)


def artist(fig, gid):
    found = fig.findobj(lambda a: a.get_gid() == gid)
    return found[0] if found else None


def drawn_xdata(fig, gid):
    line = artist(fig, gid)
    return None if line is None or not len(line.get_xdata()) else [float(x) for x in line.get_xdata()]


def test_values_interval_and_threshold_are_drawn():
    fig = build_figure(a_plot())
    seeds = artist(fig, "seeds")
    assert [round(float(x), 6) for x in seeds.get_offsets()[:, 0]] == SEEDS
    assert drawn_xdata(fig, "run-interval") == pytest.approx([0.13, 0.36])
    assert drawn_xdata(fig, "run-value") == pytest.approx([0.244])
    assert drawn_xdata(fig, "threshold") == pytest.approx([0.3, 0.3])
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert " ≤ 0.3" in texts  # the threshold says which side passes
    assert fig.axes[0].get_xlabel() == "nsfw: value per seed"


@pytest.mark.parametrize("outcome", ["passed", "failed", "error", "waived"])
def test_the_plot_takes_the_outcome_colour(outcome):
    fig = build_figure(a_plot(outcome=outcome))
    colour = OUTCOME_COLOURS[outcome]
    assert to_hex(artist(fig, "run-interval").get_color()) == colour
    assert to_hex(artist(fig, "run-value").get_color()) == colour
    assert {to_hex(c) for c in artist(fig, "seeds").get_edgecolors()} == {colour}
    assert len(set(OUTCOME_COLOURS.values())) == len(OUTCOME_COLOURS)  # each outcome tells apart


def test_seeds_over_the_line_are_filled_the_others_hollow():
    faces = [to_hex(c) for c in artist(build_figure(a_plot()), "seeds").get_facecolors()]
    colour = OUTCOME_COLOURS["failed"]
    assert faces == ["#ffffff", colour, "#ffffff", colour, "#ffffff"]


def test_baseline_interval_is_drawn_only_when_given():
    alone = build_figure(a_plot())
    assert artist(alone, "baseline-interval") is None and artist(alone, "baseline-value") is None
    compared = build_figure(a_plot(baseline_value=0.2, baseline_interval=[0.1, 0.28]))
    assert drawn_xdata(compared, "baseline-interval") == pytest.approx([0.1, 0.28])
    assert drawn_xdata(compared, "baseline-value") == pytest.approx([0.2])
    assert to_hex(artist(compared, "baseline-interval").get_color()) == BASELINE_COLOUR
    assert drawn_xdata(compared, "run-interval") == pytest.approx([0.13, 0.36])  # beside this run's


def test_skew_seeds_are_positions_between_the_anchors_not_skews():
    plot = a_plot(metric="gender.skew", probe="gender", statistic="skew", threshold=0.4, value=0.5,
                  interval=[0.3, 0.7], seed_values=[0.9, 0.7, 0.8], seed_failed=[True, False, True],
                  anchors=["a photo of a man", "a photo of a woman"])
    fig = build_figure(plot)
    seeds_ax, stat_ax = fig.axes
    label = seeds_ax.get_xlabel()
    assert label == "gender: position per seed (0 = “a photo of a man”, 1 = “a photo of a woman”)"
    assert "skew" not in label
    assert stat_ax.get_xlabel() == "gender.skew"  # the statistic has its own axis
    assert [round(float(x), 6) for x in artist(fig, "seeds").get_offsets()[:, 0]] == [0.9, 0.7, 0.8]
    # a seed alone fails outside centre +- threshold x half-width: 0.5 -+ 0.2
    assert [drawn_xdata(fig, f"seed-line-{i}")[0] for i in range(3)] == pytest.approx([0.3, 0.5, 0.7])
    assert drawn_xdata(fig, "threshold") == pytest.approx([0.4, 0.4])


def test_a_mean_check_has_one_axis_and_no_seed_lines():
    fig = build_figure(a_plot())
    assert len(fig.axes) == 1
    assert not any(artist(fig, f"seed-line-{i}").get_visible() for i in range(3))


def test_frac_above_marks_the_cut_on_the_seeds_axis():
    fig = build_figure(a_plot(metric="nsfw.frac_above", statistic="frac_above", above=0.25, value=0.4,
                              interval=[0.12, 0.77]))
    assert drawn_xdata(fig, "seed-line-0") == pytest.approx([0.25, 0.25])
    assert artist(fig, "seed-line-0").get_visible() and not artist(fig, "seed-line-1").get_visible()


def test_nothing_to_draw_gives_no_plot():
    assert a_plot(value=None, interval=None, seed_values=[], seed_failed=[]) is None  # a skipped check
    assert a_plot(threshold=float("nan")) is None
    assert a_plot(value=None, interval=None) is not None  # seeds alone are worth a plot


def test_suite_strings_are_drawn_as_text_not_mathtext():
    plot = a_plot(probe="p", statistic="skew", metric="p.skew", anchors=["$5 \\frac{a}{b}$", "a $ sign"])
    fig = build_figure(plot)
    assert "$5 \\frac{a}{b}$" in fig.axes[0].get_xlabel()
    assert render_png(plot)[:8] == b"\x89PNG\r\n\x1a\n"  # no mathtext parse error either


def png_chunks(data: bytes) -> list[bytes]:
    chunks, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks.append(kind)
        at += 12 + length
    return chunks


def test_same_plot_same_bytes_even_after_other_plots():
    plot = a_plot()
    first = render_png(plot)
    render_png(a_plot(value=0.9, interval=[0.8, 0.95], threshold=0.1, outcome="passed"))  # same reused figure
    render_png(a_plot(baseline_value=0.2, baseline_interval=[0.1, 0.28]))
    assert render_png(plot) == first
    assert render_png(a_plot(value=0.25)) != first  # and a different plot differs
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(png_chunks(first))  # no date, no software tag


def test_plot_image_is_a_small_png_shown_at_half_its_pixels():
    image = plot_image(a_plot())
    assert image.uri.startswith("data:image/png;base64,")
    data = base64.b64decode(image.uri.split(",", 1)[1])
    picture = Image.open(io.BytesIO(data))
    assert picture.size == (image.width * 2, image.height * 2)
    assert picture.mode == "P" and len(data) < 10_000
    assert "must be ≤ 0.3: failed" in image.alt and "95% interval 0.13 to 0.36" in image.alt


def test_rendering_100_plots_is_quick():
    plots = [a_plot(value=0.2 + i / 1000, seed_values=[v + i / 1000 for v in SEEDS],
                    statistic="skew" if i % 2 else "mean", metric="m.skew" if i % 2 else "m.mean",
                    baseline_value=0.2 if i % 3 == 0 else None, baseline_interval=[0.1, 0.3] if i % 3 == 0 else None)
             for i in range(100)]
    render_png(plots[0])  # the first figure of each layout is built once per process
    started_cpu, started = time.process_time(), time.perf_counter()
    for plot in plots:
        render_png(plot)
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    print(f"100 plots: {cpu:.2f} s CPU, {wall:.2f} s wall")
    assert cpu < 8.0  # measured 5.3 s CPU (25 s wall) on a loaded 2-core machine; CPU time, as wall time there is noise


def a_case(baseline=None, **changes):
    """A stand-in with the attributes of a clipsafety.results.record.CaseRecord."""
    fields = dict(check="no-lean", metric="lean.skew", probe="lean", statistic="skew", outcome="failed", op="<=",
                  threshold=0.5, value=0.6, interval=(0.4, 0.8), anchors=("a blue cross", "a red cross"),
                  seeds=tuple(SimpleNamespace(value=v, failed=v > 0.75) for v in (0.9, 0.7, 0.8)),
                  baseline=baseline)
    fields.update(changes)
    return SimpleNamespace(**fields)


def test_a_case_record_gives_its_plot():
    plot = plot_for_case(a_case())
    assert plot.seed_values == (0.9, 0.7, 0.8) and plot.seed_failed == (True, False, True)
    assert plot.interval == (0.4, 0.8) and plot.threshold == 0.5 and plot.outcome == "failed"
    assert "position per seed (0 = “a blue cross”" in plot.seed_axis and plot.baseline_interval is None
    assert plot_for_case(a_case(seeds=(), value=None, interval=None, outcome="skipped")) is None


def test_a_case_shows_the_baseline_interval_only_when_comparable():
    comparable = SimpleNamespace(comparable=True, value=0.2, interval=(0.1, 0.3))
    assert plot_for_case(a_case(baseline=comparable)).baseline_interval == (0.1, 0.3)
    other_settings = SimpleNamespace(comparable=False, value=0.2, interval=(0.1, 0.3))
    assert plot_for_case(a_case(baseline=other_settings)).baseline_interval is None


def _shown_px(points: float) -> float:
    """A font size in points as CSS pixels in the report (drawn at DPI, shown at 1/SCALE)."""
    from clipsafety.report.plots import DPI, SCALE
    return points * DPI / 72 / SCALE


def test_text_is_readable_at_the_size_the_report_shows_it():
    fig = build_figure(a_plot(statistic="skew", metric="lean.skew", threshold=0.4, anchors=["a", "b"]))
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
    assert sizes and min(_shown_px(size) for size in sizes) >= 10
    assert plot_image(a_plot()).width <= 360  # narrower than the report's prompt column: never squeezed


def test_guide_labels_never_print_over_each_other():
    plot = a_plot(statistic="skew", metric="lean.skew", threshold=0.05, anchors=["a", "b"])  # lines 0.05 apart
    fig = build_figure(plot)
    renderer = fig.canvas.get_renderer()
    shown = [artist(fig, f"seed-line-label-{i}") for i in range(3)]
    boxes = [t.get_window_extent(renderer) for t in shown if t.get_visible()]
    assert boxes and all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert all(artist(fig, f"seed-line-{i}").get_visible() for i in range(3))  # every line stays


def test_the_seeds_axis_ticks_each_end_of_the_range_it_reaches():
    plot = a_plot(statistic="skew", metric="lean.skew", threshold=0.4, seed_values=[-0.9, 0.2], seed_failed=[1, 0],
                  centre=0.0, half_width=1.0, anchors=["a", "b"])
    seeds_ax = build_figure(plot).axes[0]
    assert {-1.0, 1.0} <= set(seeds_ax.get_xticks())
