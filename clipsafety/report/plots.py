"""One small plot per check: each seed's value as a dot, the 95% interval as a bar,
the threshold as a line, coloured by the check's outcome; a baseline run's
interval beside this run's when there is one.

Drawn with matplotlib's object API (a `Figure` on an Agg canvas, never
pyplot's global state; every style is passed explicitly, so a user's
matplotlibrc does not change the report) and embedded as a PNG data URI in an
<img>: an image cannot run script or load anything, and the page's Content
Security Policy already allows `img-src data:`, while inline <svg> would need
the inline style attributes that policy forbids.

Why PNG: measured on the 3 suites x 6 prompts x 8 seeds sample with a
baseline (29 plots), a plot's data URI averages 5.9 KB as a PNG drawn at twice
its display size and reduced to a 32-colour palette, against 6.8 KB for the
same plot as SVG with its text as text, prolog and whitespace stripped and
coordinates cut to 1/100 pt (8.7 KB as matplotlib writes it); the PNG also
looks the same whatever fonts the reader has. Drawing costs about 55 ms of CPU
per plot (one figure per layout is reused: building axes costs more than
drawing them), and a plot is drawn once per process however often a report is
rendered.

The dots are what the results record for each seed: the probe's readout. For
mean, max and min the statistic sits on that same scale, so one axis carries
dots, bar and threshold. For the other statistics the dots get their own axis
(left) and the statistic its own (right):
  - skew: a seed's readout is a POSITION between the probe's anchors (0 = the
    first anchor, 1 = the second) or a probability; grey lines mark the centre
    and centre +- threshold x half-width, outside which a seed alone would fail;
  - frac_above: a seed's readout against the `above` cut;
  - count_skew: a seed's readout against the centre.
"""

from __future__ import annotations

import base64
import io
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from ..stats.operators import OPERATORS

# The report's palette (report.css.j2), so a plot and its row agree.
OUTCOME_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#8e24aa", "waived": "#b26a00",
                   "inconclusive": "#5d4037",
                   "skipped": "#757575"}
BASELINE_COLOUR = "#3949ab"
INK, GUIDE = "#222222", "#999999"
SAME_SCALE = ("mean", "max", "min")  # statistics whose value sits on the readouts' own scale
MAX_SEED_LINES = 3
# Sizes in points at 100 CSS pixels per inch (DPI / SCALE): 8 pt reads as 11 px, 7.5 pt as 10 px.
FONT = {"fontsize": 8.0, "fontfamily": "DejaVu Sans"}  # ships with matplotlib: same glyphs everywhere
GUIDE_FONT_PT = 7.5
# One width for every layout, narrower than the report's prompt column (report.css.j2), so no plot is squeezed.
WIDTH_IN, ROW_IN, AXIS_IN, MARGIN_TOP_IN, LEFT_IN = 3.5, 0.3, 0.5, 0.06, 0.62
GUIDE_IN = 0.16  # above a seeds axis with grey lines: room for their labels, clear of the seeds
DPI = 200  # drawn at twice the size it is shown (SCALE), so it stays sharp on high-density screens
SCALE = 2
PALETTE_COLOURS = 32


@dataclass(frozen=True)
class Band:
    """A grey line on the seeds' axis: where a seed's own value crosses the check."""
    at: float
    label: str


@dataclass(frozen=True)
class CheckPlot:
    """What one check's plot shows, already on its axes' scales (check_plot builds it)."""
    check: str
    outcome: str  # passed | failed | error | waived | skipped
    seed_values: tuple[float, ...]
    seed_failed: tuple[bool, ...]
    seed_axis: str  # what a seed's number is
    stat_axis: str  # what the statistic is; "" when it shares the seeds' axis
    value: float | None
    interval: tuple[float, float] | None
    threshold: float
    op: str
    seed_lines: tuple[Band, ...] = ()
    baseline_value: float | None = None
    baseline_interval: tuple[float, float] | None = None
    seed_range: tuple[float, float] = (0.0, 1.0)  # where a seed's value can lie; the seeds axis reaches both ends

    @property
    def same_scale(self) -> bool:
        return not self.stat_axis

    @property
    def has_baseline(self) -> bool:
        return self.baseline_interval is not None or self.baseline_value is not None

    @property
    def colour(self) -> str:
        return OUTCOME_COLOURS.get(self.outcome, OUTCOME_COLOURS["error"])


@dataclass(frozen=True)
class PlotImage:
    """A rendered plot as the report embeds it."""
    uri: str  # data:image/png;base64,...
    width: int  # CSS pixels to show it at
    height: int
    alt: str  # the plot in words


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _pair(interval) -> tuple[float, float] | None:
    if interval is None or len(interval) != 2 or not all(_finite(v) for v in interval):
        return None
    return float(interval[0]), float(interval[1])


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seed_axis_label(probe: str, anchors: Sequence[str] | None, *, association: bool = False,
                    paired: bool = False) -> str:
    """What a seed's dot is: the probe's readout, its position between the two anchors, the text's lean
    between them (a text-association probe), or its difference from the control (a paired check)."""
    if paired:
        return f"{probe}: prompt − control per seed"
    if association and anchors and len(anchors) == 2:
        return f"{probe}: lean per seed (−1 “{_short(anchors[0])}”, +1 “{_short(anchors[1])}”)"
    if anchors and len(anchors) == 2:
        return f"{probe}: position per seed (0 = “{_short(anchors[0])}”, 1 = “{_short(anchors[1])}”)"
    return f"{probe}: value per seed"


def _seed_lines(statistic: str, threshold: float, above: float | None, centre: float,
                half_width: float) -> tuple[Band, ...]:
    if statistic == "skew":
        reach = threshold * half_width
        return (Band(centre - reach, f"skew {threshold:g}"), Band(centre, "centre"),
                Band(centre + reach, f"skew {threshold:g}"))
    if statistic == "count_skew":
        return (Band(centre, "centre"),)
    if statistic == "frac_above" and _finite(above):
        return (Band(float(above), f"above {above:g}"),)
    return ()


def check_plot(*, check: str, metric: str, probe: str, statistic: str, outcome: str, op: str, threshold: float,
               value: float | None, interval: Sequence[float] | None, seed_values: Sequence[float | None],
               seed_failed: Sequence[bool], anchors: Sequence[str] | None = None, above: float | None = None,
               centre: float = 0.5, half_width: float = 0.5, baseline_value: float | None = None,
               baseline_interval: Sequence[float] | None = None, seed_axis: str | None = None) -> CheckPlot | None:
    """The plot of one check's record, or None when there is nothing to draw (skipped, no values).

    `centre` and `half_width` are the skews' scale (clipsafety.stats.scale_for; `seed_scale` for a
    record): (0.5, 0.5) for a probability or an anchored position, (0, 1) for a signed score.
    """
    pairs = [(float(v), bool(f)) for v, f in zip(seed_values, seed_failed) if _finite(v)]
    if (not pairs and not _finite(value)) or not _finite(threshold):
        return None
    return CheckPlot(
        check=check, outcome=outcome, seed_values=tuple(v for v, _ in pairs),
        seed_failed=tuple(f for _, f in pairs), seed_axis=seed_axis or seed_axis_label(probe, anchors),
        stat_axis="" if statistic in SAME_SCALE else metric,
        value=float(value) if _finite(value) else None, interval=_pair(interval),
        threshold=float(threshold), op=op,
        seed_lines=_seed_lines(statistic, float(threshold), above, centre, half_width)[:MAX_SEED_LINES],
        baseline_value=float(baseline_value) if _finite(baseline_value) else None,
        baseline_interval=_pair(baseline_interval),
        seed_range=(float(centre - half_width), float(centre + half_width)))


def plot_for_case(case) -> CheckPlot | None:
    """The plot of one case record (clipsafety.results.record.CaseRecord, read by attribute).

    The baseline's interval is drawn only when the comparison is comparable: a baseline
    inverted with other settings would put two different measurements side by side.
    """
    base = getattr(case, "baseline", None)
    comparable = base is not None and getattr(base, "comparable", False)
    seeds = tuple(case.seeds or ())
    association, (centre, half_width) = seed_scale(case)
    paired = getattr(case, "control", None) is not None
    return check_plot(
        check=case.check, metric=case.metric, probe=case.probe, statistic=case.statistic, outcome=case.outcome,
        op=case.op, threshold=case.threshold, value=case.value, interval=case.interval,
        seed_values=[s.value for s in seeds], seed_failed=[s.failed for s in seeds], anchors=case.anchors,
        above=getattr(case, "above", None), baseline_value=base.value if comparable else None,
        baseline_interval=base.interval if comparable else None, centre=centre, half_width=half_width,
        seed_axis=seed_axis_label(case.probe, case.anchors, association=association, paired=paired))


def seed_scale(case) -> tuple[bool, tuple[float, float]]:
    """(reads anchor images, (centre, half-width)) of a record's per-seed values, as the check scored them:
    from its probe type's value range, anchored or paired (a paired value is a difference, centred on 0).
    A probe type no longer installed is drawn on the scale every shipped anchored probe uses."""
    from ..util.errors import ClipSafetyError
    from ..probes import get_probe_class
    from ..stats.registry import scale_for

    try:
        cls = get_probe_class(getattr(case, "probe_type", None) or "")
    except ClipSafetyError:
        return False, (0.5, 0.5)
    association = "prompt" not in cls.inverts  # the values were read on the anchors' images
    value_range = cls.range_for(tuple(case.anchors) if case.anchors else None)
    scale = scale_for(value_range, paired=getattr(case, "control", None) is not None)
    return association, (scale.centre, scale.half_width)


def describe(plot: CheckPlot) -> str:
    """The plot in words, for its alt text."""
    symbol = OPERATORS[plot.op].symbol if plot.op in OPERATORS else plot.op
    parts = [f"{plot.check}: {len(plot.seed_values)} seeds"]
    if plot.value is not None:
        parts.append(f"value {plot.value:.3g}")
    if plot.interval is not None:
        parts.append(f"95% interval {plot.interval[0]:.3g} to {plot.interval[1]:.3g}")
    parts.append(f"must be {symbol} {plot.threshold:g}: {plot.outcome}")
    if plot.baseline_interval is not None:
        parts.append(f"baseline interval {plot.baseline_interval[0]:.3g} to {plot.baseline_interval[1]:.3g}")
    return "; ".join(parts)


# -- drawing -------------------------------------------------------------------------------------


def _jitter(index: int) -> float:
    """A fixed vertical offset per seed, so equal values do not hide each other (no randomness)."""
    return ((index * 3) % 5 - 2) * 0.09


def _limits(values: Sequence[float], floor: tuple[float, float]) -> tuple[float, float]:
    lo, hi = min([floor[0], *values]), max([floor[1], *values])
    pad = (hi - lo) * 0.04 or 0.05
    return lo - pad, hi + pad


def _stat_values(plot: CheckPlot) -> list[float]:
    candidates = (plot.threshold, plot.value, plot.baseline_value, *(plot.interval or ()),
                  *(plot.baseline_interval or ()))
    return [v for v in candidates if v is not None]


def _axes(fig: Figure, rect: tuple[float, float, float, float], rows: Sequence[str]):
    """Axes with a bottom axis only; its rows are named by plain text (a y axis costs ticks)."""
    ax = fig.add_axes(rect)
    ax.patch.set_visible(False)
    ax.yaxis.set_visible(False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.6)
    ax.tick_params(axis="x", labelsize=FONT["fontsize"], labelfontfamily=FONT["fontfamily"], width=0.6,
                   length=2.5, pad=1.5, colors=INK)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
    for index, name in enumerate(rows):
        ax.text(-0.02, index, name, transform=ax.get_yaxis_transform(), ha="right", va="center", color=INK,
                parse_math=False, **FONT)
    return ax


def _ticks(limits: tuple[float, float], ends: Sequence[float]) -> list[float]:
    """About three round ticks inside `limits`, plus each end of the value range the axis reaches (a -1 where
    the range starts at -1); a round tick crowding an end gives way to it."""
    lo, hi = limits
    ticks = [t for t in MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi) if lo <= t <= hi]
    reached = [e for e in ends if lo <= e <= hi]
    crowd = 0.12 * (hi - lo)
    ticks = [t for t in ticks if all(t == e or abs(t - e) > crowd for e in reached)]
    return sorted({round(t, 12) for t in [*ticks, *reached]})


def _set_scale(ax, limits: tuple[float, float], label: str, ends: Sequence[float] = ()) -> None:
    ax.set_xlim(*limits)
    ticks = _ticks(limits, ends)
    ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.set_xlabel(label, labelpad=1, color=INK, parse_math=False, wrap=True, **FONT)


def _overlaps(box, others) -> bool:
    return any(box.x0 < o.x1 and o.x0 < box.x1 and box.y0 < o.y1 and o.y0 < box.y1 for o in others)


def _hide_crowded(labels, renderer) -> None:
    """Hide each visible label that would print over one before it: the line stays, its words go."""
    kept = []
    for label in labels:
        if not label.get_visible():
            continue
        box = label.get_window_extent(renderer)
        if _overlaps(box, kept):
            label.set_visible(False)
        else:
            kept.append(box)


class _Canvas:
    """One figure per layout, drawn again for each plot: building axes costs more than drawing them.

    A check whose statistic shares the seeds' scale gets one axis (rows: seeds, this run, baseline); any other
    gets the seeds' axis above the statistic's, both the full width, so neither is squeezed.
    """

    def __init__(self, same_scale: bool, with_baseline: bool):
        stat_rows = ["this run", "baseline"] if with_baseline else ["this run"]
        left, width = LEFT_IN / WIDTH_IN, 1 - LEFT_IN / WIDTH_IN - 0.04
        if same_scale:
            rows = ["seeds", *stat_rows]
            height = MARGIN_TOP_IN + ROW_IN * max(len(rows), 2) + AXIS_IN
            self.fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
            self.stat_ax = self.seeds_ax = _axes(
                self.fig, (left, AXIS_IN / height, width, ROW_IN * max(len(rows), 2) / height), rows)
        else:
            stat_h, seeds_h = ROW_IN * max(len(stat_rows), 1.5), ROW_IN * 1.5
            height = MARGIN_TOP_IN + GUIDE_IN + seeds_h + AXIS_IN + stat_h + AXIS_IN
            self.fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, facecolor="white")
            self.seeds_ax = _axes(self.fig, (left, (2 * AXIS_IN + stat_h) / height, width, seeds_h / height),
                                  ["seeds"])
            self.stat_ax = _axes(self.fig, (left, AXIS_IN / height, width, stat_h / height), stat_rows)
        FigureCanvasAgg(self.fig)
        rows_total = 1 + len(stat_rows) if same_scale else len(stat_rows)
        self.seeds = self.seeds_ax.scatter([], [], s=14, marker="o", linewidths=0.8, zorder=3, clip_on=False,
                                           gid="seeds")
        self.lines = [self.seeds_ax.axvline(0, color=GUIDE, linewidth=0.7, linestyle=(0, (1, 1.5)), zorder=1,
                                            gid=f"seed-line-{i}") for i in range(MAX_SEED_LINES)]
        self.line_labels = [self.seeds_ax.text(0, -0.5, "", ha="center", va="bottom", color="#666666",
                                               fontsize=GUIDE_FONT_PT, fontfamily=FONT["fontfamily"],
                                               parse_math=False, gid=f"seed-line-label-{i}")
                            for i in range(MAX_SEED_LINES)]
        self.threshold = self.stat_ax.axvline(0, color=INK, linewidth=0.9, linestyle=(0, (3, 2)), zorder=1,
                                              gid="threshold")
        self.threshold_label = self.stat_ax.text(0, -0.5, "", va="top", color=INK, fontsize=GUIDE_FONT_PT,
                                                 fontfamily=FONT["fontfamily"], parse_math=False, gid="threshold-label")
        self.bars = {name: self._bar(stat_rows.index(name) + (rows_total - len(stat_rows)), name)
                     for name in stat_rows}

    def _bar(self, row: int, name: str):
        gid = "run" if name == "this run" else name
        bar, = self.stat_ax.plot([], [], linewidth=3.0, solid_capstyle="butt", alpha=0.75, zorder=2,
                                 gid=f"{gid}-interval")
        point, = self.stat_ax.plot([], [], linestyle="none", marker="D", markersize=4, zorder=4,
                                   gid=f"{gid}-value")
        return row, bar, point

    def _show_bar(self, name: str, interval, value, colour: str) -> None:
        row, bar, point = self.bars[name]
        bar.set_data(list(interval) if interval else [], [row, row] if interval else [])
        point.set_data([value] if value is not None else [], [row] if value is not None else [])
        bar.set_color(colour)
        point.set_color(colour)

    def show(self, plot: CheckPlot) -> Figure:
        ys = [_jitter(i) for i in range(len(plot.seed_values))]
        self.seeds.set_offsets(np.column_stack([plot.seed_values, ys]) if ys else np.empty((0, 2)))
        self.seeds.set_facecolors([plot.colour if failed else "white" for failed in plot.seed_failed])
        self.seeds.set_edgecolors(plot.colour)
        for line, label, band in zip(self.lines, self.line_labels, [*plot.seed_lines, *[None] * MAX_SEED_LINES]):
            line.set_visible(band is not None)
            label.set_visible(band is not None)
            if band is not None:
                line.set_xdata([band.at, band.at])
                label.set_position((band.at, -0.5))
                label.set_text(band.label)
        self._show_bar("this run", plot.interval, plot.value, plot.colour)
        if "baseline" in self.bars:
            self._show_bar("baseline", plot.baseline_interval, plot.baseline_value, BASELINE_COLOUR)
        self.threshold.set_xdata([plot.threshold, plot.threshold])
        symbol = OPERATORS[plot.op].symbol if plot.op in OPERATORS else plot.op
        self.threshold_label.set_position((plot.threshold, -0.5))
        self.threshold_label.set_text(f" {symbol} {plot.threshold:g}")
        if plot.same_scale:
            _set_scale(self.stat_ax, _limits([*plot.seed_values, *_stat_values(plot)], (0.0, 0.0)), plot.seed_axis,
                       plot.seed_range)
        else:
            seed_limits = _limits([*plot.seed_values, *(b.at for b in plot.seed_lines)], plot.seed_range)
            _set_scale(self.seeds_ax, seed_limits, plot.seed_axis, plot.seed_range)
            _set_scale(self.stat_ax, _limits(_stat_values(plot), (0.0, 1.0)), plot.stat_axis)
        _hide_crowded(self.line_labels, self.fig.canvas.get_renderer())
        return self.fig


def build_figure(plot: CheckPlot) -> Figure:
    """A fresh figure showing `plot` (for tests and callers that want matplotlib's objects)."""
    return _Canvas(plot.same_scale, plot.has_baseline).show(plot)


_CANVASES: dict[tuple[bool, bool], _Canvas] = {}
_LOCK = threading.Lock()  # a canvas is redrawn in place: one plot at a time


def render_png(plot: CheckPlot) -> bytes:
    """The plot as PNG bytes: a palette image with no metadata, the same bytes for the same plot."""
    with _LOCK:
        key = (plot.same_scale, plot.has_baseline)
        if key not in _CANVASES:
            _CANVASES[key] = _Canvas(*key)
        fig = _CANVASES[key].show(plot)
        fig.canvas.draw()
        width, height = fig.canvas.get_width_height(physical=True)
        picture = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        picture = picture.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=9)
    return out.getvalue()


@lru_cache(maxsize=1024)
def plot_image(plot: CheckPlot) -> PlotImage:
    """The plot, rendered once per distinct plot (a report rendered again reuses it)."""
    data = render_png(plot)
    width, height = Image.open(io.BytesIO(data)).size
    return PlotImage(uri="data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                     width=width // SCALE, height=height // SCALE, alt=describe(plot))
