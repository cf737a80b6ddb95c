"""World spec files, as the plugged-in worlds read them: YAML through `safe_load`, and mappings whose keys
are checked, each failure one message naming the file, the key and the example spec that shows the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .names import did_you_mean


def read_spec_yaml(path: Path, error: type[Exception], specs: str) -> Any:
    """The parsed YAML of `path`; `specs` is the folder of the world's example specs (fair.yaml, biased.yaml)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read the world spec ({exc.strerror}); "
                    f"pass --spec {specs}/fair.yaml or biased.yaml, or your own") from exc


def check_spec_keys(d: dict, where: str, prefix: str, required: set[str], optional: set[str],
                    error: type[Exception], specs: str) -> None:
    """Fail on the first unknown key (with the closest allowed one) or the first missing one."""
    allowed = sorted(required | set(optional))
    unknown = sorted(set(d) - set(allowed), key=str)
    if unknown:
        raise error(f"{where}: unknown key {prefix}{unknown[0]!r}{did_you_mean(unknown[0], allowed)}; "
                    f"allowed: {allowed}")
    missing = sorted(required - set(d))
    if missing:
        raise error(f"{where}: missing key {prefix}{missing[0]!r}; {specs}/fair.yaml shows every key")
