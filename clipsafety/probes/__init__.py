"""The probe registry: names -> "module:Class", imported on first use.

Third-party probes register under the entry-point group `clipsafety.probes`
(name = "package.module:Class"), as the toy world's probes (toy_colour,
toy_colour_bias, toy_hazard) do in clipsafety's own pyproject.toml; built-in
names win over plugins so a plugin cannot silently replace `nsfw`. Importing this package loads neither torch nor
onnxruntime: probe modules import those inside __init__/measure.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from ..util.errors import ProbeError
from ..util.names import did_you_mean
from .base import Probe, ProbeContext, SettingError, matches_type, type_name

ENTRY_POINT_GROUP = "clipsafety.probes"

PROBE_TYPES: dict[str, str] = {
    "nsfw": "clipsafety.probes.nsfw:NSFWProbe",
    "zero_shot": "clipsafety.probes.zero_shot:ZeroShotProbe",
    "gender": "clipsafety.probes.zero_shot:GenderProbe",
    "similarity": "clipsafety.probes.similarity:SimilarityProbe",
    "text_association": "clipsafety.probes.association:TextAssociationProbe",
    "photo_association": "clipsafety.probes.association:PhotoAssociationProbe",
}


@functools.cache
def _plugin_types() -> dict[str, str]:
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in PROBE_TYPES:
            found[ep.name] = ep.value
    return found


def all_probe_types() -> dict[str, str]:
    return {**PROBE_TYPES, **_plugin_types()}


def probe_names() -> list[str]:
    return sorted(all_probe_types())


@functools.cache
def get_probe_class(name: str) -> type[Probe]:
    """The probe class registered as `name`; ProbeError with a suggestion if unknown."""
    types = all_probe_types()
    if name not in types:
        raise ProbeError(
            f"unknown probe type {name!r}{did_you_mean(name, types)}",
            fix=f"known probe types: {', '.join(sorted(types))}",
        )
    target = types[name]
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ProbeError(
            f"probe type {name!r} is registered as {target!r}, which cannot be imported: {err}",
            fix="install the package that provides it, or fix its entry point",
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Probe)):
        raise ProbeError(f"probe type {name!r} ({target}) is not a clipsafety.probes.base.Probe subclass")
    return cls


def validate_settings(cls: type[Probe], settings: Mapping[str, Any]) -> None:
    """Check settings against the probe's declared schema; raises SettingError."""
    schema = cls.settings_schema
    for key, value in settings.items():
        if key not in schema:
            known = ", ".join(sorted(schema)) or "none"
            raise SettingError(
                key,
                f"unknown setting {key!r} for probe type {cls.name!r}{did_you_mean(key, [*schema, 'type', 'anchors'])}",
                fix=f"settings of {cls.name!r}: {known} (plus `type` and `anchors`)",
            )
        if not matches_type(value, schema[key]):
            raise SettingError(key, f"{key} must be {type_name(schema[key])}, got {value!r}")
    missing = sorted(cls.required_settings - set(settings))
    if missing:
        raise SettingError(missing[0], f"probe type {cls.name!r} needs the setting {missing[0]!r}")
    cls.check_settings(settings)


def create_probe(name: str, settings: Mapping[str, Any], context: ProbeContext) -> Probe:
    """Instantiate a validated probe (weights load lazily, on first measure)."""
    cls = get_probe_class(name)
    try:
        validate_settings(cls, settings)
    except SettingError as err:
        raise ProbeError(f"probe {name!r}: {err.message}", fix=err.fix) from None
    return cls(settings, context)


__all__ = [
    "ENTRY_POINT_GROUP",
    "PROBE_TYPES",
    "Probe",
    "ProbeContext",
    "SettingError",
    "all_probe_types",
    "create_probe",
    "get_probe_class",
    "probe_names",
    "validate_settings",
]
