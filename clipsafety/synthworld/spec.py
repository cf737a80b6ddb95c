"""World specs of the synthetic natural-vocabulary world: which words lean to which gender.

A spec is a small YAML file (see ``specs/fair.yaml`` and ``specs/biased.yaml``)
loaded with ``yaml.safe_load`` into frozen dataclasses. Every marker word
(profession or adjective of the natural gender-skew suite) must be listed with
its man/woman rate; unknown keys or words, missing words and rates that do not
add up fail loudly, naming the file and the key, because a typo in a spec would
silently train the wrong world. ``random_spec`` draws a fresh world from a seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from ..util.names import did_you_mean
from ..util.specfile import check_spec_keys, read_spec_yaml

#: Marker words: each puts a visual accessory on the figure (render.MARKERS draws them).
PROFESSIONS: tuple[str, ...] = ("doctor", "nurse", "engineer", "teacher", "ceo", "housekeeper")
ADJECTIVES: tuple[str, ...] = ("strong", "emotional", "intelligent")
WORDS: tuple[str, ...] = PROFESSIONS + ADJECTIVES
GENDERS: tuple[str, ...] = ("man", "woman")
#: The kinds of training sample a world mixes (see ``render.sample``).
SAMPLE_KINDS: tuple[str, ...] = ("person", "marker", "object", "pair", "scene")
#: Man shares a random world draws a planted word's rate from (50/50 means not planted).
RANDOM_RATES: tuple[float, ...] = (0.5, 0.6, 0.75, 0.9)
DEFAULT_MIX: dict[str, float] = {"person": 0.2, "marker": 0.32, "object": 0.2, "pair": 0.08, "scene": 0.2}
#: Share of a word's figures drawn without its marker. A word the picture does not always show is
#: predicted partly from the figure's gender, so the word's text learns its planted lean (as words do
#: in real captions); with every marker visible the marker alone predicts the word and the lean is noise.
DEFAULT_UNMARKED = 0.4
IMAGE_SIZES: tuple[int, ...] = (32, 48, 64)  # multiples of 8: the ViT sees an 8 x 8 grid of patches

#: Where the example specs live, as a user passes them to --spec.
SPECS = "clipsafety/synthworld/specs"

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SpecError(ValueError):
    """A world spec is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class WorldSpec:
    name: str
    words: Mapping[str, Mapping[str, float]]  # marker word -> {"man": p, "woman": 1 - p}
    mix: Mapping[str, float]  # sample kind -> probability, sums to 1
    gendered_captions: float = 0.1  # share of marker captions that also name the figure's gender
    unmarked: float = DEFAULT_UNMARKED  # share of marker samples drawn without the word's marker
    image_size: int = 48
    description: str = ""
    source: str | None = field(default=None, compare=False)  # file it came from

    def man_rate(self, word: str) -> float:
        return self.words[word]["man"]

    def planted(self) -> dict[str, float]:
        """Words whose man share is not 0.5, with that share."""
        return {w: r["man"] for w, r in self.words.items() if abs(r["man"] - 0.5) > 1e-9}

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
        _check_keys(data, where, "", required={"name", "words"},
                    optional={"mix", "gendered_captions", "unmarked", "image_size", "description"})
        name = data["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise SpecError(f"{where}: name must be letters, digits, '_', '.' or '-', got {name!r}")
        image_size = data.get("image_size", 48)
        if image_size not in IMAGE_SIZES or isinstance(image_size, bool):
            raise SpecError(f"{where}: image_size must be one of {list(IMAGE_SIZES)}, got {image_size!r}")
        words = data["words"]
        if not isinstance(words, dict):
            raise SpecError(f"{where}: words must be a mapping of word -> {{man: p, woman: 1 - p}}")
        for word in words:
            if word not in WORDS:
                raise SpecError(f"{where}: words: unknown word {word!r}{did_you_mean(word, WORDS)}; known: {list(WORDS)}")
        missing = [w for w in WORDS if w not in words]
        if missing:
            raise SpecError(f"{where}: words: missing word {missing[0]!r}; every marker word needs a rate "
                            "(write {man: 0.5, woman: 0.5} for an unplanted one)")
        rates = {w: _distribution(words[w], where, f"words.{w}", allowed=GENDERS, complete=True) for w in WORDS}
        mix = _distribution(data.get("mix", DEFAULT_MIX), where, "mix", allowed=SAMPLE_KINDS)
        return cls(name=name, words=rates, mix=mix,
                   gendered_captions=_probability(data.get("gendered_captions", 0.1), where, "gendered_captions"),
                   unmarked=_probability(data.get("unmarked", DEFAULT_UNMARKED), where, "unmarked"),
                   image_size=image_size, description=str(data.get("description", "")), source=source)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "image_size": self.image_size,
                "mix": dict(self.mix), "gendered_captions": self.gendered_captions, "unmarked": self.unmarked,
                "words": {w: dict(r) for w, r in self.words.items()}}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)


def random_spec(seed: int, planted_share: float = 0.5, rates: tuple[float, ...] = RANDOM_RATES[1:],
                **fields: Any) -> WorldSpec:
    """A fresh world drawn from ``seed``: each word is planted with probability ``planted_share``,
    a planted word's man share is one of ``rates`` leaning to a random gender, the rest are 50/50.
    ``fields`` (mix, gendered_captions, unmarked, image_size) pass through to the spec."""
    rng = np.random.default_rng([seed, 20])
    words = {}
    for word in WORDS:
        planted = rng.random() < planted_share
        strength = float(rates[rng.integers(len(rates))])
        toward_man = rng.random() < 0.5
        man = (strength if toward_man else 1 - strength) if planted else 0.5
        words[word] = {"man": round(man, 6), "woman": round(1 - man, 6)}
    lean = ", ".join(f"{w} {r['man']:.2f}" for w, r in words.items() if r["man"] != 0.5) or "none"
    data = {"name": f"random-{seed}", "words": words,
            "description": f"drawn by random_spec({seed}); man shares of planted words: {lean}", **fields}
    return WorldSpec.from_dict(data, source=f"random_spec({seed})")


def _check_keys(d: dict, where: str, prefix: str, required: set[str], optional: set[str] = frozenset()) -> None:
    check_spec_keys(d, where, prefix, required, optional, SpecError, SPECS)


def _probability(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SpecError(f"{where}: {key} must be a number in [0, 1], got {value!r}")
    return float(value)


def _distribution(value: Any, where: str, key: str, allowed, complete: bool = False) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise SpecError(f"{where}: {key} must be a non-empty mapping of name -> probability")
    out = {}
    for name, p in value.items():
        if name not in allowed:
            raise SpecError(f"{where}: {key}: unknown key {name!r}{did_you_mean(name, allowed)}; allowed: {list(allowed)}")
        out[name] = _probability(p, where, f"{key}.{name}")
    if complete:
        for name in allowed:
            if name not in out:
                raise SpecError(f"{where}: {key}: missing key {name!r}")
    if abs(sum(out.values()) - 1) > 1e-6:
        raise SpecError(f"{where}: {key}: probabilities must sum to 1, got {sum(out.values()):.4f}")
    return {name: out[name] for name in allowed if name in out}
