"""The false alarms of a whole run, not only of one check, and the family-wise correction.

Which error a check's bound controls depends on its side:

- gated on the end that must cross the threshold for the check to fail (the
  lower end of a `<=` / `<` check, the upper end of `>=` / `>`), a check fails
  only when its whole interval lies on the failing side: on a fair model whose
  true value sits exactly at the threshold it fails with probability
  (1 - level) / 2, less the further inside it sits. These checks *fail only on
  evidence*, and their false alarms are what a run can count;
- gated on the other end, a check passes only on evidence: it controls missed
  problems instead, and a fair model near its threshold fails it by design;
- gated on the point, a fair model at the threshold fails half the time.

So a run of m checks that fail only on evidence, at a two-sided level c,
expects at most m * (1 - c) / 2 false alarms on a fair model (one-sided: only
one end of each interval gates). A point-gated check is not controlled, but
its false alarms are bounded: on a fair model, whose point value's median over
runs lies on the passing side of the threshold, it fails at most half the time
(no value exceeds its median more than half the time); POINT_FALSE_ALARM
counts each such check at that bound. The run's expected false alarms add
both: m * (1 - c) / 2 + p / 2 for p point-gated checks. 50 checks that fail
only on evidence at 95% expect up to 1.25. That
is the nominal figure, and with the expanded bootstrap (see `intervals`) it is
the measured one for normal values from 8 seeds up (lower ends above the truth
in 2.3% of draws at 8 seeds, 2.5% at 16); at 4 seeds the real figure is about
2.4 times it (5.9%), and at 2 seeds 9 times (the interval is the two values'
range). The plain percentile bootstrap had 1.4 times it at 16 seeds and 2 at 8
(bench/interval_coverage.py).

Correction, for the checks that fail only on evidence (the others keep the
run's level: widening their interval would make them fail more, not less):

- "bonferroni": each interval at level 1 - (1 - c) / m, so the chance of any
  false alarm in the run is at most (1 - c) / 2, that of one check at c;
- a higher confidence level for every check (pass `level`), which is simpler
  and does not depend on how many checks the run has.

Holm is not offered. It would make one case's verdict depend on every other
case's p-value, so a case could not be judged when its test runs, nor rerun
alone, and adding a check to one suite could flip a verdict in another. On a
fair model it gains nothing over Bonferroni: Holm's first step is Bonferroni's
test, and with no true alarm no later step is reached.
"""

from __future__ import annotations

from .operators import OPERATORS
from .intervals import DEFAULT_LEVEL

FAMILY_METHODS = ("none", "bonferroni")
# Below this many seeds a bootstrap bound is wrong several times as often as its level says
# (6% at 4 seeds, 25% at 2, for 2.5% nominal: the interval-coverage study in docs/studies/).
FEW_SEEDS = 5


def fails_only_on_evidence(op: str, bound: str) -> bool:
    """True when the check fails only if its whole interval is on the failing side."""
    return bound == ("lower" if OPERATORS[op].rising_fails else "upper")


def family_tests(conditions: int) -> int:
    """Tests one check contributes to the run's family: one per inversion condition it is decided
    under (a suite without a conditions grid has one)."""
    return max(1, conditions)


# The most often a point-gated check fails a fair model (module docstring): its point's median passes.
POINT_FALSE_ALARM = 0.5


def point_gated(bound: str) -> bool:
    """True for a check gated on its point value: its false alarms are bounded, not controlled."""
    return bound == "point"


def expected_false_alarms(m: int, level: float = DEFAULT_LEVEL, points: int = 0) -> float:
    """Most false alarms expected on a fair model from m checks that fail only on evidence, decided at
    `level`, and `points` point-gated checks (each at most POINT_FALSE_ALARM)."""
    if m < 0 or points < 0:
        raise ValueError(f"a number of checks is at least 0, got {m} and {points}")
    return m * (1.0 - level) / 2 + points * POINT_FALSE_ALARM


def bonferroni_level(level: float, m: int) -> float:
    """Per-check level that holds the run's chance of any false alarm to that of one check at `level`."""
    if m < 1:
        return level
    return 1.0 - (1.0 - level) / m


def family_level(level: float, m: int, method: str = "none") -> float:
    """The level each check that fails only on evidence is evaluated at, under a family-wise method."""
    if method == "none":
        return level
    if method == "bonferroni":
        return bonferroni_level(level, m)
    raise ValueError(f"family-wise method {method!r} is not one of {', '.join(FAMILY_METHODS)}")
