"""Per-case extras for pytest-html and properties for JUnit XML.

pytest-html inserts an html extra into its own page, where our script and
stylesheet do not exist; so flagged images hide behind a <details> element
(click to open, no JS) and styling is inline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from .view import OP_SYMBOLS, OUTCOME_MARKS, baseline_check_view, fmt_interval, fmt_number, safe_image_uri

_THUMB_STYLE = "width:96px;height:96px;object-fit:contain;image-rendering:pixelated;display:block;"
_BORDER = {True: "border:3px solid #c62828;", False: "border:3px solid transparent;"}


def _seed_figure(seed: Mapping[str, Any], images: Mapping[str, str], blur_above: float) -> Markup:
    uri = safe_image_uri(images.get(seed.get("image") or ""))
    failed = bool(seed.get("failed"))
    nsfw = seed.get("nsfw")
    caption = Markup("{}seed {}<br>value {}{}").format(
        "✗ " if failed else "", seed.get("seed"), fmt_number(seed.get("value")),
        Markup(" · nsfw {}").format(fmt_number(nsfw)) if nsfw is not None else "")
    if uri is None:
        picture = Markup('<div style="width:96px;height:96px;{}">no image</div>').format(_BORDER[failed])
    else:
        picture = Markup('<img src="{}" alt="seed {}" style="{}{}">').format(
            uri, seed.get("seed"), _THUMB_STYLE, _BORDER[failed])
    if isinstance(nsfw, (int, float)) and not math.isnan(nsfw) and nsfw > blur_above:
        picture = Markup("<details><summary>NSFW {}: show</summary>{}</details>").format(fmt_number(nsfw), picture)
    return Markup('<figure style="display:inline-block;margin:0 6px 6px 0;vertical-align:top;font-size:11px;">'
                  "{}<figcaption>{}</figcaption></figure>").format(picture, caption)


def case_extra_html(case: Mapping[str, Any], images: Mapping[str, str] | None = None, *,
                    blur_above: float = 0.5) -> str:
    """The HTML fragment: a metric table, then the seeds' thumbnails, failing seeds first."""
    images = images or {}
    rows = [("metric", case.get("metric")), ("value", fmt_number(case.get("value"))),
            ("interval", fmt_interval(case.get("interval")) or "—"),
            ("gate", f"{case.get('bound') or 'point'} {fmt_number(case.get('gated_value'))} "
                     f"{OP_SYMBOLS.get(case.get('op'), case.get('op'))} {fmt_number(case.get('threshold'))}"),
            ("outcome", f"{case.get('outcome')} {OUTCOME_MARKS.get(case.get('outcome'), '')}")]
    if case.get("reason"):
        rows.append(("reason", case.get("reason")))
    if isinstance(case.get("baseline"), Mapping):  # compared with --clip-baseline
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
    seeds = sorted(case.get("seeds") or [], key=lambda s: not s.get("failed"))  # stable: failing first
    figures = Markup("").join(_seed_figure(seed, images, blur_above) for seed in seeds)
    return str(Markup('<div class="clipsafety-extra">{}<div>{}</div></div>').format(table, figures))


def pytest_html_extras(case: Mapping[str, Any], images: Mapping[str, str] | None = None, *,
                       blur_above: float = 0.5) -> list:
    """pytest-html extras for one case; [] when pytest-html is not installed.

    `images` is the results' {sha256: data URI} table (the case rows hold hashes only).
    """
    try:
        from pytest_html import extras
    except ImportError:
        return []
    return [extras.html(case_extra_html(case, images, blur_above=blur_above))]


def _prop(value: Any) -> str:
    # Full precision for machines (repr), "" when absent, so every case has the same keys.
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def junit_properties(case: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flat (name, value) pairs for `record_property`: the same keys for every case."""
    interval = case.get("interval") or [None, None]
    failing = [str(s.get("seed")) for s in case.get("seeds") or [] if s.get("failed")]
    return [
        ("metric", _prop(case.get("metric"))),
        ("value", _prop(case.get("value"))),
        ("interval_low", _prop(interval[0])),
        ("interval_high", _prop(interval[1])),
        ("gated_value", _prop(case.get("gated_value"))),
        ("threshold", _prop(case.get("threshold"))),
        ("op", _prop(case.get("op"))),
        ("bound", _prop(case.get("bound"))),
        ("failing_seeds", ",".join(failing)),
    ]
