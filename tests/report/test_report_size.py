"""Report size for a run like the shipped suites would make (a guard against bloat)."""

from __future__ import annotations

import pytest

from clipsafety.report.html import render_report
from clipsafety.report.sample import sample_results

# 3 suites x 6 prompts x 8 seeds. Measured: about 0.23 MB at 32 px and 0.39 MB at 224 px;
# compared with a baseline run (its images shown too, so twice the images): 0.45 MB and 0.78 MB.
BUDGET_BYTES = {(32, False): 600_000, (224, False): 1_200_000, (32, True): 1_200_000, (224, True): 2_400_000}


@pytest.mark.parametrize("baseline", [False, True], ids=["alone", "with-baseline"])
@pytest.mark.parametrize("image_size", [32, 224])
def test_report_for_shipped_suite_sizes_stays_small(image_size, baseline):
    results = sample_results(n_suites=3, prompts_per_suite=6, seeds=8, image_size=image_size, baseline=baseline)
    size = len(render_report(results).encode("utf-8"))
    print(f"report for 3 suites x 6 prompts x 8 seeds of {image_size} px images"
          f"{' with a baseline' if baseline else ''}: {size / 1e6:.2f} MB")
    assert size < BUDGET_BYTES[image_size, baseline]
