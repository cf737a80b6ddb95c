"""One image again: the command that regenerates a seed's image, and what that command runs.

A run's image is fixed by the model, the text inverted, the seed and the inversion settings (a profile
plus the suite's overrides). `reproduce_command` writes those as one `clipsafety invert` line; the
command inverts through the run's own Session and executor, so it gives the same image, byte for byte,
and prints the cache key material the run filed it under.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from ..cache import KeyMaterial, entry_key, image_sha256
from ..invert import PROFILES, InversionResult, get_settings
from ..util.errors import InversionError
from .case import RunConfig
from .session import Session

# Settings that never change an image (InversionSettings.key leaves them out), so the command omits them.
NOT_IN_IMAGE = ("batch_size",)


def setting_overrides(profile: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings an image was inverted with that differ from its profile's (what the command must name)."""
    base = PROFILES[profile].to_dict()
    return {name: value for name, value in settings.items()
            if name not in NOT_IN_IMAGE and name in base and base[name] != value}


def reproduce_command(model: str | None, pretrained: str | None, prompt: str, seed: int, profile: str,
                      overrides: Mapping[str, Any]) -> str:
    """`clipsafety invert --model M [--pretrained P] --prompt TEXT --seed N --profile P [--steps N]
    [--set NAME=JSON ...] --out seed-N.png`, quoted for a POSIX shell."""
    parts = ["clipsafety", "invert", "--model", model or "?"]
    if pretrained:
        parts += ["--pretrained", pretrained]
    parts += ["--prompt", prompt, "--seed", str(seed), "--profile", profile]
    rest = dict(overrides)
    if "steps" in rest:
        parts += ["--steps", str(rest.pop("steps"))]
    for name in sorted(rest):
        parts += ["--set", f"{name}={json.dumps(rest[name])}"]
    return shlex.join([*parts, "--out", f"seed-{seed}.png"])


def command_for(config: RunConfig, profile: str, image: InversionResult) -> str | None:
    """The command that regenerates one of a run's images; None for a photo (settings None: never inverted)."""
    if image.settings is None:
        return None
    return reproduce_command(config.model, config.pretrained, image.prompt, image.seed, profile,
                             setting_overrides(profile, image.settings or {}))


@dataclass(frozen=True)
class Reproduced:
    result: InversionResult
    material: KeyMaterial  # what the run's cache files the image under
    image_sha256: str


def invert_one(config: RunConfig, prompt: str, seed: int, profile: str,
               overrides: Mapping[str, Any]) -> Reproduced:
    """Invert one (prompt, seed) as a run does: the same settings, model handle and executor."""
    session = Session(config)
    settings = get_settings(profile, **dict(overrides))
    done: list[InversionResult] = []
    session.executor.invert([(prompt, seed)], settings, None, done.extend)
    result = done[0]
    if not result.ok:
        raise InversionError(result.error)
    handle = session.handle
    material = entry_key(handle.fingerprint, prompt, seed, settings, input_size=handle.input_size).material
    return Reproduced(result=result, material=material, image_sha256=image_sha256(result.image))


__all__ = ["Reproduced", "command_for", "invert_one", "reproduce_command", "setting_overrides"]
