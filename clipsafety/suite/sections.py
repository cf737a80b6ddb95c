"""A suite's `applies_to:`, `probes:` and `prompts:` sections."""

from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..util import limits
from ..util.errors import ProbeError
from ..models.kinds import SUITE_KINDS
from ..util.names import did_you_mean
from ..probes import SettingError, get_probe_class, probe_names, validate_settings
from ..stats import ANCHORED_RANGE
from ..models.targets import axis_removed_text, looks_like_target, midpoint_text
from .model import ProbeSpec, Prompt, slug
from .reader import ID_RULE, Reader, is_id

PROMPT_KEYS = ("id", "text", "tags", "control", "positive_control")
# What a positive control must do on every check that selects it: show what the check looks for.
POSITIVE_CONTROL_OUTCOMES = ("fails", "passes")
PROBE_RESERVED = ("type", "anchors")
_PROBE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # no dots: metrics are "<key>.<statistic>"


def read_applies_to(r: Reader, node: Node) -> tuple[str, ...]:
    kinds = r.strings(node, "applies_to", single_ok=True)
    for i, kind in enumerate(kinds):
        if kind not in SUITE_KINDS:
            item = node.value[i] if isinstance(node, SequenceNode) else node
            raise r.fail(item, f"applies_to[{i}]", f"unknown model kind {kind!r}{did_you_mean(kind, SUITE_KINDS)}",
                         fix="use toy (toy-world models) and/or natural (CLIPs trained on natural images)")
    if not kinds:
        raise r.fail(node, "applies_to", "must name at least one model kind", fix="e.g. applies_to: [natural, toy]")
    return tuple(dict.fromkeys(kinds))


# -- probes ---------------------------------------------------------------------------


def read_probes(r: Reader, node: Node, applies_to: tuple[str, ...]) -> dict[str, ProbeSpec]:
    return {key: _read_probe(r, key, key_node, value_node, applies_to)
            for key, (key_node, value_node) in r.mapping(node, "probes", null_ok=True).items()}


def _read_probe(r: Reader, key: str, key_node: Node, node: Node, applies_to: tuple[str, ...]) -> ProbeSpec:
    field_path = f"probes.{key}"
    if not _PROBE_KEY.fullmatch(key):
        fix = "checks refer to it as '<key>.<statistic>', so it cannot contain dots" if "." in key else None
        raise r.fail(key_node, field_path, f"probe key {key!r} must be a name of letters, digits, _ and -", fix=fix)
    items = r.mapping(node, field_path, null_ok=True)
    r.note(field_path, key_node)
    type_node = items["type"][1] if "type" in items else key_node
    type_name = r.string(type_node, f"{field_path}.type") if "type" in items else key
    try:
        cls = get_probe_class(type_name)
    except ProbeError as err:
        if "type" not in items:
            raise r.fail(key_node, field_path,
                         f"no `type` given and {key!r} is not a probe type{did_you_mean(key, probe_names())}",
                         fix=f"add `type:` with one of: {', '.join(probe_names())}") from None
        raise r.fail(type_node, f"{field_path}.type", err.message, fix=err.fix) from None

    anchors = read_anchors(r, items["anchors"][1], f"{field_path}.anchors") if "anchors" in items else None
    settings = {k: r.to_python(v, f"{field_path}.{k}") for k, (_, v) in items.items() if k not in PROBE_RESERVED}
    for k, (k_node, _) in items.items():
        r.note(f"{field_path}.{k}", k_node)
    try:
        validate_settings(cls, settings)
    except SettingError as err:
        at = items[err.key][0] if err.key in items else key_node
        raise r.fail(at, f"{field_path}.{err.key}", err.message, fix=err.fix) from None
    other_kinds = sorted(set(applies_to) - set(cls.applies_to))
    if other_kinds:
        raise r.fail(type_node, field_path,
                     f"probe type {type_name!r} only reads {'/'.join(sorted(cls.applies_to))} images, "
                     f"but the suite applies to {', '.join(other_kinds)} models too",
                     fix=f"add `applies_to: [{', '.join(sorted(cls.applies_to))}]` at the top of the suite")
    try:
        cls.check_spec(anchors, paired=False)
    except SettingError as err:
        raise r.fail(key_node, f"{field_path}.{err.key}", f"probe type {type_name!r} {err.message}",
                     fix=err.fix) from None
    return ProbeSpec(key=key, type=type_name, anchors=anchors, settings=settings, line=key_node.start_mark.line + 1,
                     value_range=cls.range_for(anchors), inverts=cls.inverts)


def read_anchors(r: Reader, node: Node, field_path: str) -> tuple[str, str]:
    r.note(field_path, node)
    return _prompt_pair(r, node, field_path, "anchors must be a list of two prompts [low, high]",
                        "the two anchors are the same prompt, so nothing lies between them",
                        fix="write anchors: [<low prompt>, <high prompt>], e.g. [a photo of a man, a photo of a woman]")


def _prompt_pair(r: Reader, node: Node, field_path: str, shape: str, same: str, *, fix: str,
                 strip: bool = False) -> tuple[str, str]:
    """Two different prompts written as a two-item list (anchors, a midpoint's ends); `shape` and `same`
    say what is wrong when it is not a pair, or when both are the same prompt."""
    if not isinstance(node, SequenceNode) or len(node.value) != 2:
        got = f"{len(node.value)} items" if isinstance(node, SequenceNode) else r.kind(node)
        raise r.fail(node, field_path, f"{shape}, got {got}", fix=fix)
    low, high = (_inverted_text(r, item, f"{field_path}[{i}]") for i, item in enumerate(node.value))
    if strip:
        low, high = low.strip(), high.strip()
    if low == high:
        raise r.fail(node, field_path, same, fix=fix)
    return low, high


# -- prompts ------------------------------------------------------------------------


def read_prompts(r: Reader, node: Node) -> list[Prompt]:
    items = r.sequence(node, "prompts", what="prompt", limit=limits.MAX_PROMPTS, limit_name="MAX_PROMPTS",
                       fix="list prompts as '- a doctor' lines, or {id: ..., text: ..., tags: [...]} items")
    prompts: list[Prompt] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        field_path = f"prompts[{i}]"
        prompt, id_node, explicit_id = _read_prompt(r, item, field_path)
        if prompt.id in seen:
            how = "" if explicit_id else " (derived from the text)"
            raise r.fail(id_node, f"{field_path}.id" if explicit_id else field_path,
                         f"duplicate prompt id {prompt.id!r}{how}; first used on line {seen[prompt.id]}",
                         fix="give one of them a different `id:`")
        seen[prompt.id] = prompt.line
        r.note(field_path, item)
        prompts.append(prompt)
    return prompts


def _read_prompt(r: Reader, item: Node, field_path: str) -> tuple[Prompt, Node, bool]:
    """The prompt, the node its id comes from, and whether the id was written out."""
    line = item.start_mark.line + 1
    if isinstance(item, ScalarNode):
        text = _inverted_text(r, item, field_path)
        return Prompt(id=_derived_id(r, item, field_path, text), text=text.strip(), line=line), item, False
    if not isinstance(item, MappingNode):
        raise r.fail(item, field_path, f"a prompt must be a string or a mapping with text:, got {r.kind(item)}")
    items = r.mapping(item, field_path)
    r.known_keys(items, PROMPT_KEYS, field_path)
    r.require(item, items, ("text",), field_path)
    text = _inverted_text(r, items["text"][1], f"{field_path}.text")
    tags = tuple(r.strings(items["tags"][1], f"{field_path}.tags", single_ok=True)) if "tags" in items else ()
    for j, tag in enumerate(tags):
        if not is_id(tag):
            raise r.fail(items["tags"][1], f"{field_path}.tags[{j}]", f"tag {tag!r} {ID_RULE}")
    if "id" in items:
        id_node = items["id"][1]
        pid = r.identifier(id_node, f"{field_path}.id")
    else:
        id_node, pid = item, _derived_id(r, item, field_path, text)
    control = _read_control(r, items, field_path, text.strip())
    positive = _read_positive_control(r, items, field_path)
    return (Prompt(id=pid, text=text.strip(), tags=tags, line=line, control=control, positive_control=positive),
            id_node, "id" in items)


def _read_positive_control(r: Reader, items, field_path: str) -> str | None:
    """`positive_control: fails` (the checks must flag this prompt) or `passes` (they must find what they look for)."""
    if "positive_control" not in items:
        return None
    node, where = items["positive_control"][1], f"{field_path}.positive_control"
    value = r.string(node, where)
    if value not in POSITIVE_CONTROL_OUTCOMES:
        raise r.fail(node, where, f"positive_control must be one of {', '.join(POSITIVE_CONTROL_OUTCOMES)}, "
                                  f"got {value!r}{did_you_mean(value, POSITIVE_CONTROL_OUTCOMES)}",
                     fix="positive_control: fails (a prompt the checks must flag, e.g. an NSFW prompt for an NSFW "
                         "check) or passes (a prompt that must show what the checks look for)")
    return value


def _read_control(r: Reader, items, field_path: str, text: str) -> str | None:
    """The prompt's neutral control: a prompt; {midpoint: [low anchor, high anchor]}, whose target text
    (clipsafety.models.targets) embeds halfway between the two; or {axis_removed: [low anchor, high anchor]}, the
    prompt's own embedding with the anchors' axis taken out."""
    if "control" not in items:
        return None
    node, where = items["control"][1], f"{field_path}.control"
    if isinstance(node, MappingNode):
        return _read_target_control(r, node, where, text)
    control = _inverted_text(r, node, where).strip()
    if control == text:
        raise r.fail(node, where, "the control is the prompt itself, so every difference is 0",
                     fix="name a neutral prompt without the attribute under test, e.g. control: a photo of a person")
    return control


_TARGET_CONTROLS = ("midpoint", "axis_removed")


def _read_target_control(r: Reader, node: MappingNode, where: str, text: str) -> str:
    fix = ("write control: {midpoint: [<low anchor>, <high anchor>]} or {axis_removed: [<low anchor>, "
           "<high anchor>]}, e.g. {axis_removed: [a blue cross, a red cross]}")
    items = r.mapping(node, where)
    r.known_keys(items, _TARGET_CONTROLS, where)
    given = [key for key in _TARGET_CONTROLS if key in items]
    if len(given) != 1:
        raise r.fail(node, where, "a control is one of midpoint or axis_removed" if given
                     else "the control mapping names no control", fix=fix)
    (kind,) = given
    shape, same = (("a midpoint lies between two prompts", "the two prompts are the same, so the midpoint is that "
                    "prompt") if kind == "midpoint" else
                   ("the axis runs between two prompts", "the two prompts are the same, so they span no axis"))
    low, high = _prompt_pair(r, items[kind][1], f"{where}.{kind}", shape, same, fix=fix, strip=True)
    return midpoint_text(low, high) if kind == "midpoint" else axis_removed_text(text, low, high)


def _inverted_text(r: Reader, node: Node, field_path: str) -> str:
    """A text the harness inverts (prompt, anchor, control), never one that reads as a midpoint target."""
    text = r.string(node, field_path)
    if looks_like_target(text.strip()):
        raise r.fail(node, field_path, f"the text {text.strip()!r} has the form of a midpoint control, "
                     "which only `control: {midpoint: [...]}` may write",
                     fix="write the midpoint as control: {midpoint: [<low>, <high>]}, or reword the prompt")
    return text


def _derived_id(r: Reader, item: Node, field_path: str, text: str) -> str:
    pid = slug(text)
    if not pid:
        raise r.fail(item, field_path, f"cannot derive an id from the text {text!r}",
                     fix=f"give it one: {{id: my-id, text: {text!r}}}")
    return pid


__all__ = ["read_anchors", "read_applies_to", "read_probes", "read_prompts"]
