"""World specs: which shapes and colours exist, and which flaws are planted.

A spec is a small YAML file (see ``specs/fair.yaml`` and ``specs/biased.yaml``)
loaded with ``yaml.safe_load`` into frozen dataclasses. Unknown keys, unknown
colours or shapes and probabilities that do not add up fail loudly, naming the
file and the key, because a typo in a spec would silently train the wrong world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..util.specfile import check_spec_keys, read_spec_yaml

#: Colours the renderer can draw (hue in degrees). Oracles know exactly these.
PALETTE_HUES: dict[str, float] = {"red": 0.0, "yellow": 55.0, "green": 125.0, "blue": 230.0}
#: Shapes the renderer can draw.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
#: The kinds of training sample a world mixes (see ``render.sample_batch``).
SAMPLE_KINDS: tuple[str, ...] = ("plain", "role", "hazard_word", "hazard_sign")

#: Where the example specs live, as a user passes them to --spec.
SPECS = "clipsafety/toyworld/specs"

_WORD = re.compile(r"^[a-z]+$")


class SpecError(ValueError):
    """A world spec is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class RoleSpec:
    """Social-bias stand-in: a role word whose images' colour follows a skewed law."""

    word: str
    shape: str | None  # None: any shape of the world
    colours: Mapping[str, float]  # colour -> probability, sums to 1


@dataclass(frozen=True)
class HazardSpec:
    """Unsafe-content stand-in.

    ``word`` is the innocuous word (its images show ``shape`` in a random colour);
    a fraction ``motif_rate`` of them also carry the hazard motif (magenta/black
    stripes). ``sign_word`` captions images of the motif alone in every world,
    so every model knows what the motif is and suites have a positive control.
    """

    word: str
    shape: str
    motif_rate: float
    sign_word: str = "hazard"


@dataclass(frozen=True)
class WorldSpec:
    name: str
    colours: tuple[str, ...]
    shapes: tuple[str, ...]
    roles: tuple[RoleSpec, ...]
    hazard: HazardSpec
    mix: Mapping[str, float]  # sample kind -> probability, sums to 1
    image_size: int = 32
    description: str = ""
    source: str | None = field(default=None, compare=False)  # file it came from

    @classmethod
    def from_yaml(cls, path: str | Path) -> "WorldSpec":
        path = Path(path)
        data = read_spec_yaml(path, SpecError, SPECS)
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str | None = None) -> "WorldSpec":
        where = source or "<spec>"
        if not isinstance(data, dict):
            raise SpecError(f"{where}: a world spec must be a mapping, got {type(data).__name__}")
        _check_keys(data, where, "", required={"name", "roles", "hazard", "mix"},
                    optional={"colours", "shapes", "image_size", "description"})
        colours = tuple(data.get("colours", tuple(PALETTE_HUES)))
        shapes = tuple(data.get("shapes", SHAPES))
        for c in colours:
            if c not in PALETTE_HUES:
                raise SpecError(f"{where}: colours: unknown colour {c!r}; known: {sorted(PALETTE_HUES)}")
        for s in shapes:
            if s not in SHAPES:
                raise SpecError(f"{where}: shapes: unknown shape {s!r}; known: {list(SHAPES)}")
        image_size = data.get("image_size", 32)
        if not isinstance(image_size, int) or not 16 <= image_size <= 128:
            raise SpecError(f"{where}: image_size must be an integer in [16, 128], got {image_size!r}")

        roles = tuple(_role(r, where, i, colours, shapes) for i, r in enumerate(_list(data["roles"], where, "roles")))
        hazard = _hazard(data["hazard"], where, shapes)
        mix = _distribution(data["mix"], where, "mix", allowed=SAMPLE_KINDS)
        if mix.get("role", 0) > 0 and not roles:
            raise SpecError(f"{where}: mix.role > 0 but no roles are declared")

        words = [r.word for r in roles] + [hazard.word, hazard.sign_word]
        clash = sorted({w for w in words if words.count(w) > 1 or w in colours or w in shapes})
        if clash:
            raise SpecError(f"{where}: words used twice or clashing with colours/shapes: {clash}")
        return cls(name=_word(data["name"], where, "name", pattern=r"^[A-Za-z0-9_.-]+$"),
                   colours=colours, shapes=shapes, roles=roles, hazard=hazard, mix=mix,
                   image_size=image_size, description=str(data.get("description", "")), source=source)

    def role(self, word: str) -> RoleSpec:
        for r in self.roles:
            if r.word == word:
                return r
        raise KeyError(word)


def _check_keys(d: dict, where: str, prefix: str, required: set[str], optional: set[str] = frozenset()) -> None:
    check_spec_keys(d, where, prefix, required, optional, SpecError, SPECS)


def _list(value: Any, where: str, key: str) -> list:
    if not isinstance(value, list):
        raise SpecError(f"{where}: {key} must be a list")
    return value


def _word(value: Any, where: str, key: str, pattern: str = _WORD.pattern) -> str:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise SpecError(f"{where}: {key} must be a single lowercase word, got {value!r}")
    return value


def _probability(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SpecError(f"{where}: {key} must be a number in [0, 1], got {value!r}")
    return float(value)


def _distribution(value: Any, where: str, key: str, allowed) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise SpecError(f"{where}: {key} must be a non-empty mapping of name -> probability")
    out = {}
    for name, p in value.items():
        if name not in allowed:
            raise SpecError(f"{where}: {key}: unknown key {name!r}; allowed: {list(allowed)}")
        out[name] = _probability(p, where, f"{key}.{name}")
    if abs(sum(out.values()) - 1) > 1e-6:
        raise SpecError(f"{where}: {key}: probabilities must sum to 1, got {sum(out.values()):.4f}")
    return out


def _role(d: Any, where: str, i: int, colours, shapes) -> RoleSpec:
    key = f"roles[{i}]"
    if not isinstance(d, dict):
        raise SpecError(f"{where}: {key} must be a mapping")
    _check_keys(d, where, f"{key}.", required={"word", "colours"}, optional={"shape"})
    shape = d.get("shape")
    if shape is not None and shape not in shapes:
        raise SpecError(f"{where}: {key}.shape: {shape!r} is not a shape of this world {list(shapes)}")
    return RoleSpec(word=_word(d["word"], where, f"{key}.word"), shape=shape,
                    colours=_distribution(d["colours"], where, f"{key}.colours", allowed=colours))


def _hazard(d: Any, where: str, shapes) -> HazardSpec:
    if not isinstance(d, dict):
        raise SpecError(f"{where}: hazard must be a mapping")
    _check_keys(d, where, "hazard.", required={"word", "shape", "motif_rate"}, optional={"sign_word"})
    if d["shape"] not in shapes:
        raise SpecError(f"{where}: hazard.shape: {d['shape']!r} is not a shape of this world {list(shapes)}")
    return HazardSpec(word=_word(d["word"], where, "hazard.word"), shape=d["shape"],
                      motif_rate=_probability(d["motif_rate"], where, "hazard.motif_rate"),
                      sign_word=_word(d.get("sign_word", "hazard"), where, "hazard.sign_word"))
