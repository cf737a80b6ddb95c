"""A suite's `checks:` section: each check's metric, operator, threshold and options."""

from __future__ import annotations

from collections.abc import Mapping

from yaml.nodes import Node, SequenceNode

from ..util import limits
from ..util.names import did_you_mean
from ..stats.operators import OPERATORS
from ..probes import get_probe_class, probe_names
from ..probes.base import SettingError
from ..stats import BOUNDS, STATISTICS, metric_range
from .model import Check, ProbeSpec, Prompt
from .reader import Reader, fmt_range

CHECK_KEYS = ("metric", "op", "threshold", "bound", "above", "prompts", "id", "max_rise", "max_drop", "paired",
              "detects")
MARGIN_KEYS = ("max_rise", "max_drop")

Items = Mapping[str, tuple[Node, Node]]


def read_checks(r: Reader, node: Node, probes: dict[str, ProbeSpec], prompts: list[Prompt]) -> list[Check]:
    items = r.sequence(node, "checks", what="check", limit=limits.MAX_CHECKS, limit_name="MAX_CHECKS",
                       fix="add at least one check, e.g. - {metric: nsfw.max, op: '<=', threshold: 0.5}")
    checks: list[Check] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        check = read_check(r, item, f"checks[{i}]", probes, prompts)
        if check.id in seen:
            explicit = "id" in r.mapping(item, f"checks[{i}]")
            how = "" if explicit else " (derived from metric, op and threshold)"
            raise r.fail(item, f"checks[{i}].id", f"duplicate check id {check.id!r}{how}; "
                         f"first used on line {seen[check.id]}", fix="give one of them a different `id:`")
        seen[check.id] = check.line
        checks.append(check)
    return checks


def read_check(r: Reader, node: Node, field_path: str, probes: dict[str, ProbeSpec], prompts: list[Prompt]) -> Check:
    items = r.mapping(node, field_path)
    r.known_keys(items, CHECK_KEYS, field_path)
    r.require(node, items, ("metric", "op", "threshold"), field_path)
    r.note(field_path, node)
    probe, statistic = _read_metric(r, items["metric"][1], f"{field_path}.metric", probes)
    metric = f"{probe.key}.{statistic}"
    op = _read_op(r, items["op"][1], f"{field_path}.op")
    paired = r.boolean(items["paired"][1], f"{field_path}.paired") if "paired" in items else False
    threshold = _read_threshold(r, items["threshold"][1], f"{field_path}.threshold", probe, statistic, paired)
    bound = _read_bound(r, items, field_path)
    above = _read_above(r, node, items, field_path, probe, statistic)
    selector = _read_selector(r, items, field_path, prompts)
    if paired:
        try:
            get_probe_class(probe.type).check_spec(probe.anchors, paired=True)
        except SettingError as err:
            raise r.fail(items["paired"][1], f"{field_path}.paired", f"probe {probe.key!r} ({probe.type}) "
                         f"{err.message}", fix=err.fix) from None
    if paired:
        _require_controls(r, items["paired"][1], field_path, selector, prompts)
    margins = _read_margins(r, items, field_path, metric)
    detects = _read_detects(r, items, field_path, probe, statistic, op, threshold, paired)
    return Check(
        id=_read_id(r, items, field_path, metric, op, threshold),
        probe=probe.key,
        statistic=statistic,
        op=op,
        threshold=threshold,
        bound=bound,
        above=above,
        prompt_selector=selector,
        line=node.start_mark.line + 1,
        paired=paired,
        detects=detects,
        **margins,
    )


def _read_metric(r: Reader, node: Node, field_path: str, probes: dict[str, ProbeSpec]) -> tuple[ProbeSpec, str]:
    metric = r.string(node, field_path)
    probe_key, dot, statistic = metric.partition(".")
    if not dot or not probe_key or not statistic:
        raise r.fail(node, field_path, f"metric {metric!r} must be '<probe key>.<statistic>'",
                     fix=f"e.g. {next(iter(probes), 'nsfw')}.mean; statistics: {', '.join(STATISTICS)}")
    if probe_key not in probes:
        if probe_key in probe_names():
            fix = f"declare it under `probes:`, e.g. probes: {{{probe_key}: {{}}}}"
        else:
            fix = f"declared probe keys: {', '.join(probes) or 'none'}"
        raise r.fail(node, field_path, f"metric {metric!r} refers to probe key {probe_key!r}, which is not declared "
                     f"under probes{did_you_mean(probe_key, probes)}", fix=fix)
    if statistic not in STATISTICS:
        raise r.fail(node, field_path, f"unknown statistic {statistic!r}{did_you_mean(statistic, STATISTICS)}",
                     fix=f"statistics: {', '.join(STATISTICS)}")
    return probes[probe_key], statistic


def _read_op(r: Reader, node: Node, field_path: str) -> str:
    op = r.value(node, field_path)
    if not isinstance(op, str) or op not in OPERATORS:
        fix = f"use one of: {', '.join(repr(o) for o in OPERATORS)}"
        if op == "" or op is None:
            fix = 'quote the operator, e.g. op: ">" (a bare > starts a YAML block of text)'
        raise r.fail(node, field_path, f"op {op!r} is not a comparison operator", fix=fix)
    return op


def _read_threshold(r: Reader, node: Node, field_path: str, probe: ProbeSpec, statistic: str,
                    paired: bool = False) -> float:
    threshold = r.number(node, field_path)
    lo, hi = metric_range(probe.value_range, statistic, paired=paired)
    if not lo <= threshold <= hi:
        anchored_note = " (anchored)" if probe.anchored else ""
        raise r.fail(node, field_path, f"threshold {threshold:g} is outside the range of "
                     f"{probe.key}.{statistic}{anchored_note}, {fmt_range(lo, hi)}",
                     fix=f"pick a threshold in {fmt_range(lo, hi)}")
    return threshold


def _read_detects(r: Reader, items: Items, field_path: str, probe: ProbeSpec, statistic: str, op: str,
                  threshold: float, paired: bool) -> float | None:
    """`detects`: the value of the statistic the check must catch; it lies on the failing side of the threshold."""
    if "detects" not in items:
        return None
    node, where = items["detects"][1], f"{field_path}.detects"
    if not STATISTICS[statistic].mean_like:
        mean_like = ", ".join(name for name, stat in STATISTICS.items() if stat.mean_like)
        raise r.fail(node, where, f"`detects` sets the power of a mean's test; {probe.key}.{statistic} is not one",
                     fix=f"remove it, or gate on {mean_like}")
    detects = r.number(node, where)
    lo, hi = metric_range(probe.value_range, statistic, paired=paired)
    if not lo <= detects <= hi:
        raise r.fail(node, where, f"detects {detects:g} is outside the range of {probe.key}.{statistic}, "
                     f"{fmt_range(lo, hi)}", fix=f"pick a value in {fmt_range(lo, hi)}")
    if OPERATORS[op](detects, threshold):
        side = "above" if OPERATORS[op].rising_fails else "below"
        raise r.fail(node, where, f"detects {detects:g} passes `{op} {threshold:g}`: the value the check must "
                     "catch lies on the side it fails", fix=f"pick a value {side} {threshold:g}")
    return detects


def _read_bound(r: Reader, items: Items, field_path: str) -> str:
    if "bound" not in items:
        return "point"
    node = items["bound"][1]
    bound = r.value(node, f"{field_path}.bound")
    if not isinstance(bound, str) or bound not in BOUNDS:
        raise r.fail(node, f"{field_path}.bound",
                     f"bound {bound!r} is not one of {', '.join(BOUNDS)}{did_you_mean(bound, BOUNDS)}",
                     fix="point gates on the statistic itself; lower/upper on that end of its 95% interval")
    return bound


def _read_above(r: Reader, node: Node, items: Items, field_path: str, probe: ProbeSpec,
                statistic: str) -> float | None:
    if not STATISTICS[statistic].needs_above:
        if "above" in items:
            raise r.fail(items["above"][0], f"{field_path}.above",
                         f"`above` only applies to frac_above, not {statistic}",
                         fix="remove it, or use the frac_above statistic")
        return None
    if "above" not in items:
        raise r.fail(node, f"{field_path}.above",
                     f"{probe.key}.{statistic} needs `above`: the value a seed must exceed to count",
                     fix=f"add e.g. above: 0.5 (within {fmt_range(*probe.value_range)})")
    above_node = items["above"][1]
    above = r.number(above_node, f"{field_path}.above")
    lo, hi = probe.value_range
    if not lo <= above <= hi:
        raise r.fail(above_node, f"{field_path}.above",
                     f"above {above:g} is outside the values of probe {probe.key!r}, {fmt_range(lo, hi)}")
    return above


def _read_selector(r: Reader, items: Items, field_path: str, prompts: list[Prompt]) -> tuple[str, ...]:
    if "prompts" not in items:
        return ()
    node = items["prompts"][1]
    selector = tuple(r.strings(node, f"{field_path}.prompts", single_ok=True))
    names = {p.id for p in prompts} | {t for p in prompts for t in p.tags}
    for j, name in enumerate(selector):
        if name not in names:
            at = node.value[j] if isinstance(node, SequenceNode) else node
            raise r.fail(at, f"{field_path}.prompts[{j}]",
                         f"{name!r} matches no prompt id or tag{did_you_mean(name, sorted(names))}",
                         fix=f"prompt ids: {', '.join(p.id for p in prompts)}")
    if not selector:
        raise r.fail(node, f"{field_path}.prompts", "an empty prompt selector matches no prompt",
                     fix="remove `prompts:` to check every prompt")
    return selector


def _require_controls(r: Reader, node: Node, field_path: str, selector: tuple[str, ...],
                      prompts: list[Prompt]) -> None:
    """A paired check gates on prompt - control: every prompt it selects needs a control."""
    selected = [p for p in prompts if not selector or p.id in selector or any(t in selector for t in p.tags)]
    missing = [p.id for p in selected if p.control is None]
    if missing:
        raise r.fail(node, f"{field_path}.paired",
                     f"a paired check needs a neutral control for every prompt it checks; "
                     f"{', '.join(repr(m) for m in missing)} {'has' if len(missing) == 1 else 'have'} none",
                     fix=f"add `control: <neutral prompt>` to prompt {missing[0]!r} "
                         "(e.g. {id: doctor, text: a doctor, control: a cross}), or remove `paired: true`")


def _read_margins(r: Reader, items: Items, field_path: str, metric: str) -> dict[str, float | None]:
    margins: dict[str, float | None] = {key: None for key in MARGIN_KEYS}
    for key in MARGIN_KEYS:
        if key in items:
            margin = r.number(items[key][1], f"{field_path}.{key}")
            if margin < 0:
                raise r.fail(items[key][1], f"{field_path}.{key}", f"{key} must be >= 0, got {margin:g}",
                             fix=f"{key} is how far {metric} may move against the baseline run")
            margins[key] = margin
    return margins


def _read_id(r: Reader, items: Items, field_path: str, metric: str, op: str, threshold: float) -> str:
    if "id" in items:
        return r.identifier(items["id"][1], f"{field_path}.id")
    return f"{metric}-{OPERATORS[op].word}-{threshold:g}"


__all__ = ["CHECK_KEYS", "read_check", "read_checks"]
