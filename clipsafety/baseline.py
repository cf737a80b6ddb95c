"""Compare a run with a baseline run: the model users have today.

A baseline is a results file (clipsafety-results/1) saved by an earlier run
(`--clip-save-baseline=PATH`). Cases are matched by node id. A check with
`max_rise` / `max_drop` fails on a regression, judged on the two runs' 95%
intervals rather than their point values: a rise counts only when the
candidate's lower bound is above the baseline's upper bound by more than
`max_rise` (a drop, mirrored), so noise between runs does not fail a release.

Cases inverted with other settings, or a metric that changed, are marked not
comparable and never gated; a baseline made by another model or another
version of a suite is named in the notes, which the report shows.
"""

from __future__ import annotations

from typing import Any

from .results import read_results


def load_baseline(path: str) -> dict[str, Any]:
    data = read_results(path)
    data.setdefault("_path", str(path))
    return data


def _bounds(record: dict) -> tuple[float, float] | None:
    if record.get("value") is None:
        return None
    interval = record.get("interval") or [record["value"], record["value"]]
    lo = record["value"] if interval[0] is None else interval[0]
    hi = record["value"] if interval[1] is None else interval[1]
    return float(lo), float(hi)


def compare_case(record: dict, base: dict | None) -> dict[str, Any]:
    """The comparison of one case with its baseline case (None: absent from the baseline)."""
    out: dict[str, Any] = {"comparable": False, "note": None, "value": None, "interval": None,
                           "outcome": None, "delta": None, "seeds": [], "regression": None}
    if base is None:
        out["note"] = "not in the baseline run"
        return out
    out.update(value=base.get("value"), interval=base.get("interval"), outcome=base.get("outcome"),
               seeds=base.get("seeds") or [])
    if base.get("metric") != record.get("metric"):
        out["note"] = f"the baseline measured {base.get('metric')}, not {record.get('metric')}"
    elif base.get("settings_key") != record.get("settings_key"):
        out["note"] = "inverted with other settings in the baseline run (profile, steps, ...): not comparable"
    elif _bounds(base) is None or _bounds(record) is None:
        out["note"] = "no value in one of the runs"
    else:
        out["comparable"] = True
        out["delta"] = round(record["value"] - base["value"], 6)
        out["regression"] = _regression(record, base)
    return out


def _regression(record: dict, base: dict) -> dict[str, Any] | None:
    rise, drop = record.get("max_rise"), record.get("max_drop")
    if rise is None and drop is None:
        return None
    c_lo, c_hi = _bounds(record)
    b_lo, b_hi = _bounds(base)
    problems = []
    if rise is not None and c_lo - b_hi > rise:
        problems.append(f"{record['metric']} rose: candidate lower bound {c_lo:.4g} is {c_lo - b_hi:.4g} above "
                        f"the baseline's upper bound {b_hi:.4g} (max_rise {rise:g})")
    if drop is not None and b_lo - c_hi > drop:
        problems.append(f"{record['metric']} dropped: candidate upper bound {c_hi:.4g} is {b_lo - c_hi:.4g} below "
                        f"the baseline's lower bound {b_lo:.4g} (max_drop {drop:g})")
    return {"max_rise": rise, "max_drop": drop, "passed": not problems, "message": "; ".join(problems) or None}


def baseline_notes(baseline: dict, model: dict | None, suites: dict[str, dict]) -> list[str]:
    """What differs between the baseline run and this one, in words for the report."""
    notes = []
    base_model = baseline.get("provenance", {}).get("model", {})
    if model and base_model.get("fingerprint") == model.get("fingerprint"):
        notes.append("the baseline was made by the same model (same fingerprint)")
    elif base_model:
        notes.append(f"baseline model: {base_model.get('name')} (pretrained {base_model.get('pretrained')}, "
                     f"fingerprint {str(base_model.get('fingerprint'))[:12]})")
    base_suites = baseline.get("provenance", {}).get("suites", {})
    for path, info in suites.items():
        old = base_suites.get(path)
        if old is None:
            notes.append(f"suite {path} is not in the baseline run")
        elif old.get("sha256") and info.get("sha256") and old["sha256"] != info["sha256"]:
            notes.append(f"suite {path} changed since the baseline run (another version of the file)")
    return notes


def attach_baseline(results: dict, baseline: dict) -> dict:
    """Add each case's baseline comparison, the baseline's images and notes to `results`."""
    by_id = {c["nodeid"]: c for c in baseline.get("cases", [])}
    for case in results["cases"]:
        if case.get("baseline") is None:  # the plugin already compared the cases it gated
            case["baseline"] = compare_case(case, by_id.get(case["nodeid"]))
        for seed in case["baseline"]["seeds"]:
            image = baseline.get("images", {}).get(seed.get("image"))
            if image:
                results["images"].setdefault(seed["image"], image)
    prov = results["provenance"]
    results["baseline"] = {
        "path": baseline.get("_path"),
        "model": baseline.get("provenance", {}).get("model"),
        "finished": baseline.get("provenance", {}).get("finished"),
        "notes": baseline_notes(baseline, prov.get("model"), prov.get("suites", {})),
        "regressions": sum(1 for c in results["cases"]
                           if (c["baseline"].get("regression") or {}).get("passed") is False),
    }
    return results
