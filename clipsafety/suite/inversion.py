"""A suite's `inversion:` section, checked against every profile it can be run with.

Overrides are validated at collection, with their line, against the profile
they will apply to: the suite's own `profile:`, or else the default profile of
each model kind the suite applies to (clipsafety.models.kinds.DEFAULT_PROFILE), since
which one it gets depends on the model under test.

`conditions:` names a small grid of settings (setting -> list of values); every
combination, applied over the overrides, is one condition, checked the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import typing
from collections.abc import Mapping
from typing import Any

from yaml.nodes import Node, SequenceNode

from ..util import limits
from ..util.errors import ClipSafetyError, SuiteError
from ..invert.settings import PROFILES, InversionSettings, get_settings
from ..models.kinds import DEFAULT_PROFILE
from ..util.names import did_you_mean
from ..probes.base import matches_type, type_name
from .model import InversionSpec, condition_label
from .reader import Reader

INVERSION_KEYS = ("profile", "seeds", "overrides", "conditions")

# Overrides that size the work or the memory of a run, and the limit each may not pass.
_LIMITED_SETTINGS = {"steps": "MAX_STEPS", "batch_size": "MAX_BATCH_SIZE", "init_size": "MAX_IMAGE_SIDE"}


@functools.cache
def setting_types() -> dict[str, Any]:
    """Each inversion setting's type (the dataclass annotations, resolved)."""
    hints = typing.get_type_hints(InversionSettings)
    return {f.name: hints[f.name] for f in dataclasses.fields(InversionSettings)}


def read_inversion(r: Reader, node: Node, applies_to: tuple[str, ...]) -> InversionSpec:
    items = r.mapping(node, "inversion")
    moved = {key: f"inversion.overrides.{key}" for key in setting_types()}
    r.known_keys(items, INVERSION_KEYS, "inversion", moved=moved)
    profile = _read_profile(r, items["profile"][1]) if "profile" in items else None
    seeds = _read_seeds(r, items["seeds"][1]) if "seeds" in items else None
    overrides = _read_overrides(r, items["overrides"][1]) if "overrides" in items else {}
    grid = {}
    if "conditions" in items:
        r.note("inversion.conditions", items["conditions"][0])
        grid = _read_grid(r, *items["conditions"], overrides)
    conditions = tuple(dict(zip(grid, combo)) for combo in itertools.product(*grid.values())) or ({},)
    spec = InversionSpec(profile=profile, seeds=seeds, overrides=overrides, conditions=conditions)
    if grid:
        _check_grid_against_profiles(r, spec, grid, applies_to)
    elif overrides:
        _check_against_profiles(r, spec, items["overrides"][1], applies_to)
    return spec


def _read_profile(r: Reader, node: Node) -> str:
    profile = r.string(node, "inversion.profile")
    if profile not in PROFILES:
        raise r.fail(node, "inversion.profile",
                     f"unknown inversion profile {profile!r}{did_you_mean(profile, PROFILES)}",
                     fix=f"use one of: {', '.join(PROFILES)}")
    return profile


def _read_seeds(r: Reader, node: Node) -> int:
    seeds = r.integer(node, "inversion.seeds", minimum=1)
    if seeds > limits.MAX_SEEDS:
        raise r.fail(node, "inversion.seeds",
                     f"{seeds:,} seeds is more than the limit of {limits.MAX_SEEDS:,} seeds per prompt (MAX_SEEDS)",
                     fix="use fewer seeds, or raise the limit deliberately with the environment variable "
                         "CLIPSAFETY_MAX_SEEDS=N")
    return seeds


def _read_overrides(r: Reader, node: Node) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, (key_node, value_node) in r.mapping(node, "inversion.overrides").items():
        field_path = f"inversion.overrides.{key}"
        _known_setting(r, key_node, key, field_path)
        overrides[key] = _read_setting(r, key, value_node, field_path)
        r.note(field_path, key_node)
    return overrides


def _known_setting(r: Reader, key_node: Node, key: str, field_path: str) -> None:
    types = setting_types()
    if key not in types:
        raise r.fail(key_node, field_path, f"unknown inversion setting {key!r}{did_you_mean(key, types)}",
                     fix=f"settings: {', '.join(types)}")


def _read_setting(r: Reader, key: str, value_node: Node, field_path: str) -> Any:
    """One value of a known setting: its type, finite, within the limit of what sizes the work."""
    expected = setting_types()[key]
    value = r.to_python(value_node, field_path)
    if not matches_type(value, expected):
        raise r.fail(value_node, field_path, f"expected {type_name(expected)}, got {r.kind(value_node)}",
                     fix=f"give {key} a value of type {type_name(expected)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise r.fail(value_node, field_path, f"must be a finite number, got {value}", fix=f"give {key} a finite number")
    limit_name = _LIMITED_SETTINGS.get(key)
    if limit_name and value is not None and value > getattr(limits, limit_name):
        limit = getattr(limits, limit_name)
        raise r.fail(value_node, field_path, f"{value:,} is more than the limit of {limit:,} ({limit_name})",
                     fix=f"use a {key} of at most {limit:,}")
    return value


# -- conditions: a small grid of settings, each combination one condition ---------------------


def _read_grid(r: Reader, key_node: Node, node: Node, overrides: Mapping[str, Any]) -> dict[str, list[Any]]:
    """setting -> its values (each checked like an override), within MAX_CONDITIONS combinations."""
    grid: dict[str, list[Any]] = {}
    items = r.mapping(node, "inversion.conditions")
    if not items:
        raise r.fail(key_node, "inversion.conditions", "names no setting",
                     fix="give each setting to vary a list of values, e.g. `conditions: {tv_weight: [0.001, 0.01]}`, "
                         "or remove `conditions:`")
    for key, (setting_node, value_node) in items.items():
        field_path = f"inversion.conditions.{key}"
        _known_setting(r, setting_node, key, field_path)
        if key in overrides:
            raise r.fail(setting_node, field_path, f"{key!r} is set both in inversion.overrides and in "
                         "inversion.conditions", fix=f"remove {key} from inversion.overrides: the conditions set it")
        grid[key] = _read_values(r, key, value_node, field_path)
        r.note(field_path, setting_node)
    count = math.prod(len(values) for values in grid.values())
    if count > limits.MAX_CONDITIONS:
        sizes = " x ".join(str(len(values)) for values in grid.values())
        raise r.fail(key_node, "inversion.conditions", f"{count:,} conditions ({sizes}) is more than the limit of "
                     f"{limits.MAX_CONDITIONS:,} conditions per suite (MAX_CONDITIONS); each condition inverts "
                     "every image again", fix="vary fewer settings or values, or raise the limit deliberately "
                                              "with the environment variable CLIPSAFETY_MAX_CONDITIONS=N")
    return grid


def _read_values(r: Reader, key: str, node: Node, field_path: str) -> list[Any]:
    if not isinstance(node, SequenceNode):
        raise r.fail(node, field_path, f"expected a list of values for {key}, got {r.kind(node)}",
                     fix=f"write the values to try as a list, e.g. `{key}: [a, b]`")
    if not node.value:
        raise r.fail(node, field_path, "the list of values is empty", fix=f"give {key} at least one value")
    values: list[Any] = []
    for i, item in enumerate(node.value):
        value = _read_setting(r, key, item, f"{field_path}[{i}]")
        if value in values:
            raise r.fail(item, f"{field_path}[{i}]", f"the value {value!r} is given twice",
                         fix="give each value once: a repeated value repeats the whole condition")
        r.note(f"{field_path}[{i}]", item)
        values.append(value)
    return values


def profiles_for(spec: InversionSpec, applies_to: tuple[str, ...]) -> dict[str, str]:
    """profile name -> how the suite gets it, for every profile its overrides may apply to."""
    if spec.profile is not None:
        return {spec.profile: f"the profile {spec.profile!r}"}
    out: dict[str, str] = {}
    for kind in applies_to:
        name = DEFAULT_PROFILE[kind]
        out.setdefault(name, f"the default profile {name!r} of {kind} models")
    return out


def _check_against_profiles(r: Reader, spec: InversionSpec, node: Node, applies_to: tuple[str, ...]) -> None:
    for profile, how in profiles_for(spec, applies_to).items():
        try:
            get_settings(profile, **dict(spec.overrides))
        except ClipSafetyError as err:
            key = _key_named_in(err.message, spec.overrides)
            at = r.mapping(node, "inversion.overrides")[key][1] if key else node
            field_path = f"inversion.overrides.{key}" if key else "inversion.overrides"
            fix = err.fix or ("name a profile these overrides suit with `profile:`" if spec.profile is None else None)
            raise r.fail(at, field_path, f"with {how}: {err.message}", fix=fix) from None


def _check_grid_against_profiles(r: Reader, spec: InversionSpec, grid: Mapping[str, list[Any]],
                                 applies_to: tuple[str, ...]) -> None:
    """Every condition, over the overrides, must make valid settings with every profile the suite may get."""
    for profile, how in profiles_for(spec, applies_to).items():
        for indices in itertools.product(*(range(len(values)) for values in grid.values())):
            condition = {key: grid[key][i] for key, i in zip(grid, indices)}
            try:
                get_settings(profile, **{**spec.overrides, **condition})
            except ClipSafetyError as err:
                raise _grid_error(r, spec, condition, dict(zip(grid, indices)), err, how) from None


def _grid_error(r: Reader, spec: InversionSpec, condition: dict[str, Any], indices: dict[str, int],
                err: ClipSafetyError, how: str) -> Exception:
    """The refusal, at the condition's value it names (else the override it names, else the grid)."""
    key = _key_named_in(err.message, condition) or _key_named_in(err.message, spec.overrides)
    if key in condition:
        field_path = f"inversion.conditions.{key}[{indices[key]}]"
    elif key is not None:
        field_path = f"inversion.overrides.{key}"
    else:
        field_path = "inversion.conditions"
    line = r.lines.get(field_path) or r.lines.get("inversion.conditions")
    fix = err.fix or ("name a profile these conditions suit with `profile:`" if spec.profile is None
                      else "drop the values this profile refuses")
    return SuiteError(f"{field_path}: with {how}, the condition {condition_label(condition)}: {err.message}",
                      where=f"{r.path}:{line}" if line else r.path, fix=fix)


def _key_named_in(message: str, overrides: Mapping[str, Any]) -> str | None:
    """The first override a settings error names (its problems start with the setting's name)."""
    for key in overrides:
        if re.search(rf"\b{re.escape(key)}\b", message):
            return key
    return None


__all__ = ["INVERSION_KEYS", "profiles_for", "read_inversion", "setting_types"]
