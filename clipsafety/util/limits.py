"""Resource limits, in one place: what clipsafety refuses, and why.

Every limit is a named constant here, and every message that enforces one
names the constant's value and how to go past it deliberately. They exist so
that a hostile or mistyped input (a YAML alias bomb, `seeds: 100000000`, a
model config that implies a 51 GB allocation) is refused in milliseconds
instead of exhausting the machine after minutes of work.
"""

from __future__ import annotations

import os

from .errors import ClipSafetyError

# Limits whose environment variable holds no usable value: each falls back to its default, and
# `check_environment` refuses a clipsafety run until the variable is fixed. Importing this module
# never raises, so a junk value cannot break every test run of the environment, unrelated ones included.
PROBLEMS: list[str] = []


def _env_limit(name: str, default: int) -> int:
    """The limit the environment variable `name` raises it to, or `default` (and a problem) when it is
    not a whole number of 1 or more."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text.strip().replace("_", ""))
    except ValueError:
        value = 0
    if value >= 1:
        return value
    PROBLEMS.append(str(ClipSafetyError(
        f"the environment variable {name}={text!r} is not a whole number of 1 or more",
        fix=f"set {name} to the limit you mean (default {default:,}), or unset it")))
    return default


def check_environment() -> None:
    """Refuse a run while a limit's environment variable holds no usable value."""
    if PROBLEMS:
        raise ClipSafetyError("\n".join(PROBLEMS))

# Suites (YAML) --------------------------------------------------------------
MAX_SUITE_BYTES = 1_000_000  # a suite file larger than this is refused unread
MAX_YAML_NODES = 20_000  # nodes a suite may expand to, aliases counted at every use
MAX_YAML_DEPTH = 50  # nesting depth of a suite's YAML
MAX_PROMPTS = 2_000  # prompts in one suite
MAX_CHECKS = 500  # checks in one suite

# Inversion ------------------------------------------------------------------
# Seeds per prompt. Raise deliberately with CLIPSAFETY_MAX_SEEDS=N.
MAX_SEEDS = _env_limit("CLIPSAFETY_MAX_SEEDS", 1024)
MAX_STEPS = 1_000_000
MAX_BATCH_SIZE = 4_096
MAX_IMAGE_SIDE = 2_048  # pixels per side of an inverted or cached image
# Conditions a suite's `inversion.conditions` grid may expand to: each costs every image again.
# Raise deliberately with CLIPSAFETY_MAX_CONDITIONS=N.
MAX_CONDITIONS = _env_limit("CLIPSAFETY_MAX_CONDITIONS", 16)

# Models ---------------------------------------------------------------------
# Parameters a local model config may imply. Raise deliberately with CLIPSAFETY_MAX_MODEL_PARAMS=N.
MAX_MODEL_PARAMS = _env_limit("CLIPSAFETY_MAX_MODEL_PARAMS", 3_000_000_000)

# Results and baselines --------------------------------------------------------
MAX_RESULTS_BYTES = 512 * 1024 * 1024  # a results or baseline file larger than this is refused unread

# Waivers ----------------------------------------------------------------------
MAX_WAIVERS_BYTES = 1_000_000  # a waivers file larger than this is refused unread
MAX_WAIVERS = 1_000  # waivers in one file
