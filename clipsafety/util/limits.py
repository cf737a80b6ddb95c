"""Resource limits, in one place: what clipsafety refuses, and why.

Every limit is a named constant here, and every message that enforces one
names the constant's value and how to go past it deliberately. They exist so
that a hostile or mistyped input (a YAML alias bomb, `seeds: 100000000`, a
model config that implies a 51 GB allocation) is refused in milliseconds
instead of exhausting the machine after minutes of work.
"""

from __future__ import annotations

import os

# Suites (YAML) --------------------------------------------------------------
MAX_SUITE_BYTES = 1_000_000  # a suite file larger than this is refused unread
MAX_YAML_NODES = 20_000  # nodes a suite may expand to, aliases counted at every use
MAX_YAML_DEPTH = 50  # nesting depth of a suite's YAML
MAX_PROMPTS = 2_000  # prompts in one suite
MAX_CHECKS = 500  # checks in one suite

# Inversion ------------------------------------------------------------------
# Seeds per prompt. Raise deliberately with CLIPSAFETY_MAX_SEEDS=N.
MAX_SEEDS = int(os.environ.get("CLIPSAFETY_MAX_SEEDS", "1024"))
MAX_STEPS = 1_000_000
MAX_BATCH_SIZE = 4_096
MAX_IMAGE_SIDE = 2_048  # pixels per side of an inverted or cached image
# Conditions a suite's `inversion.conditions` grid may expand to: each costs every image again.
# Raise deliberately with CLIPSAFETY_MAX_CONDITIONS=N.
MAX_CONDITIONS = int(os.environ.get("CLIPSAFETY_MAX_CONDITIONS", "16"))

# Models ---------------------------------------------------------------------
# Parameters a local model config may imply. Raise deliberately with CLIPSAFETY_MAX_MODEL_PARAMS=N.
MAX_MODEL_PARAMS = int(os.environ.get("CLIPSAFETY_MAX_MODEL_PARAMS", str(3_000_000_000)))

# Results and baselines --------------------------------------------------------
MAX_RESULTS_BYTES = 512 * 1024 * 1024  # a results or baseline file larger than this is refused unread

# Waivers ----------------------------------------------------------------------
MAX_WAIVERS_BYTES = 1_000_000  # a waivers file larger than this is refused unread
MAX_WAIVERS = 1_000  # waivers in one file
