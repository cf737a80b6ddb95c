"""Per-case extras for pytest-html and properties for JUnit XML.

pytest-html inserts an html extra into its own page, where our script and
stylesheet do not exist; so flagged images hide behind a <details> element
(click to open, no JS) and styling is inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from ..results.conditions import FLIP_TEXT
from ..stats.operators import OPERATORS
from ..results.record import CaseRecord, SeedRecord
from ..gate.verdict import waiver_text
from .view import OUTCOME_MARKS, baseline_check_view, fmt_interval, fmt_number, safe_image_uri

_THUMB_STYLE = "width:96px;height:96px;object-fit:contain;image-rendering:pixelated;display:block;"
_BORDER = {True: "border:3px solid #c62828;", False: "border:3px solid transparent;"}


def _seed_figure(seed: SeedRecord, images: Mapping[str, str], blur_above: float) -> Markup:
    uri = safe_image_uri(images.get(seed.image))
    caption = Markup("{}seed {}<br>value {}{}").format(
        "✗ " if seed.failed else "", seed.seed, fmt_number(seed.value),
        Markup(" · nsfw {}").format(fmt_number(seed.nsfw)) if seed.nsfw is not None else "")
    if uri is None:
        picture = Markup('<div style="width:96px;height:96px;{}">no image</div>').format(_BORDER[seed.failed])
    else:
        picture = Markup('<img src="{}" alt="seed {}" style="{}{}">').format(
            uri, seed.seed, _THUMB_STYLE, _BORDER[seed.failed])
    if seed.nsfw is not None and seed.nsfw > blur_above:
        picture = Markup("<details><summary>NSFW {}: show</summary>{}</details>").format(
            fmt_number(seed.nsfw), picture)
    return Markup('<figure style="display:inline-block;margin:0 6px 6px 0;vertical-align:top;font-size:11px;">'
                  "{}<figcaption>{}</figcaption></figure>").format(picture, caption)


def case_extra_html(case: CaseRecord, images: Mapping[str, str] | None = None, *, blur_above: float = 0.5) -> str:
    """The HTML fragment: a metric table, then the seeds' thumbnails, failing seeds first."""
    images = images or {}
    rows = [("metric", case.metric), ("value", fmt_number(case.value)),
            ("interval", fmt_interval(case.interval) or "—"),
            ("gate", f"{case.bound} {fmt_number(case.gated_value)} {OPERATORS[case.op].symbol} "
                     f"{fmt_number(case.threshold)}"),
            ("outcome", f"{case.outcome} {OUTCOME_MARKS[case.outcome]}")]
    for condition in case.conditions:  # the suite's inversion conditions: it must pass under all
        rows.append((f"under {condition.label}", f"{fmt_number(condition.value)} {fmt_interval(condition.interval)} "
                                                 f"{condition.outcome} {OUTCOME_MARKS[condition.outcome]}"))
    if case.verdict_flips:
        rows.append(("conditions", f"FLIPS: {FLIP_TEXT}"))
    if case.waiver is not None:
        rows.append(("waiver", waiver_text(case.waiver)))
    if case.reason:
        rows.append(("reason", case.reason))
    if case.baseline is not None:  # compared with --clip-baseline
        cmp = baseline_check_view(case)
        rows.append(("baseline", f"{cmp.baseline} (Δ {cmp.delta})" if cmp.comparable
                     else f"not comparable: {cmp.note}"))
        if cmp.regression:
            rows.append(("regression", f"REGRESSION: {cmp.message}"))
        elif cmp.gate:
            rows.append(("regression gate", f"{cmp.gate}: {'passed' if cmp.comparable else 'not applied'}"))
    row_html = Markup('<tr><th style="text-align:left;padding-right:10px;">{}</th><td>{}</td></tr>')
    table = Markup('<table style="border-collapse:collapse;margin-bottom:6px;">{}</table>').format(
        Markup("").join(row_html.format(k, v) for k, v in rows))
    seeds = sorted(case.seeds, key=lambda s: not s.failed)  # stable: failing first
    figures = Markup("").join(_seed_figure(seed, images, blur_above) for seed in seeds)
    return str(Markup('<div class="clipsafety-extra">{}<div>{}</div></div>').format(table, figures))


def pytest_html_extras(case: CaseRecord, images: Mapping[str, str] | None = None, *,
                       blur_above: float = 0.5) -> list:
    """pytest-html extras for one case; [] when pytest-html is not installed.

    `images` is the results' {sha256: data URI} table (the records hold hashes only).
    """
    try:
        from pytest_html import extras
    except ImportError:  # another package, and optional
        return []
    return [extras.html(case_extra_html(case, images, blur_above=blur_above))]


def _prop(value: Any) -> str:
    # Full precision for machines (repr), "" when absent, so every case has the same keys.
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def junit_properties(case: CaseRecord) -> list[tuple[str, str]]:
    """Flat (name, value) pairs for `record_property`: the same keys for every case."""
    low, high = case.interval or (None, None)
    return [
        ("metric", _prop(case.metric)),
        ("value", _prop(case.value)),
        ("interval_low", _prop(low)),
        ("interval_high", _prop(high)),
        ("gated_value", _prop(case.gated_value)),
        ("threshold", _prop(case.threshold)),
        ("op", _prop(case.op)),
        ("bound", _prop(case.bound)),
        ("failing_seeds", ",".join(str(s) for s in case.failing_seeds)),
    ]
