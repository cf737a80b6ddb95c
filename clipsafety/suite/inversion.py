"""A suite's `inversion:` section, checked against every profile it can be run with.

Overrides are validated at collection, with their line, against the profile
they will apply to: the suite's own `profile:`, or else the default profile of
each model kind the suite applies to (clipsafety.kinds.DEFAULT_PROFILE), since
which one it gets depends on the model under test.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import typing
from collections.abc import Mapping
from typing import Any

from yaml.nodes import Node

from .. import limits
from ..errors import ClipSafetyError
from ..invert.settings import PROFILES, InversionSettings, get_settings
from ..kinds import DEFAULT_PROFILE
from ..names import did_you_mean
from ..probes.base import matches_type, type_name
from .model import InversionSpec
from .reader import Reader

INVERSION_KEYS = ("profile", "seeds", "overrides")

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
    spec = InversionSpec(profile=profile, seeds=seeds, overrides=overrides)
    if overrides:
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
    types = setting_types()
    overrides: dict[str, Any] = {}
    for key, (key_node, value_node) in r.mapping(node, "inversion.overrides").items():
        field_path = f"inversion.overrides.{key}"
        if key not in types:
            raise r.fail(key_node, field_path, f"unknown inversion setting {key!r}{did_you_mean(key, types)}",
                         fix=f"settings: {', '.join(types)}")
        value = r.to_python(value_node, field_path)
        if not matches_type(value, types[key]):
            raise r.fail(value_node, field_path, f"expected {type_name(types[key])}, got {r.kind(value_node)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise r.fail(value_node, field_path, f"must be a finite number, got {value}")
        limit_name = _LIMITED_SETTINGS.get(key)
        if limit_name and value is not None and value > getattr(limits, limit_name):
            limit = getattr(limits, limit_name)
            raise r.fail(value_node, field_path, f"{value:,} is more than the limit of {limit:,} ({limit_name})",
                         fix=f"use a {key} of at most {limit:,}")
        r.note(field_path, key_node)
        overrides[key] = value
    return overrides


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


def _key_named_in(message: str, overrides: Mapping[str, Any]) -> str | None:
    """The first override a settings error names (its problems start with the setting's name)."""
    for key in overrides:
        if re.search(rf"\b{re.escape(key)}\b", message):
            return key
    return None


__all__ = ["INVERSION_KEYS", "profiles_for", "read_inversion", "setting_types"]
