"""The toy world is a plugin of the core: entry points, declared kinds, no import from the core."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

import clipsafety
from clipsafety.util.errors import ModelLoadError
from clipsafety.models.providers import ENTRY_POINT_GROUP, ModelProvider, named_models
from clipsafety.models.load import forget_loaded_models, load_model
from clipsafety.probes import PROBE_TYPES, get_probe_class
from clipsafety.probes.base import Probe
from clipsafety.toyworld import bundled_model_dir
from clipsafety.toyworld.tokenizer import ToyTokenizer

PACKAGE = Path(clipsafety.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
TOY_PROBES = {"toy_colour": "ToyColourProbe", "toy_colour_bias": "ToyColourBiasProbe", "toy_hazard": "ToyHazardProbe"}


def declared_entry_points(group: str) -> dict[str, str]:
    return tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"][group]


def core_modules() -> list[str]:
    """Every module of the package outside the toy world (and __main__, which runs the CLI)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "toyworld" in parts or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_pyproject_registers_the_toy_world_as_a_third_party_would():
    assert declared_entry_points("clipsafety.models")["toyworld"] == "clipsafety.toyworld.provider:PROVIDER"
    probes = declared_entry_points("clipsafety.probes")
    assert probes == {name: f"clipsafety.toyworld.probes:{cls}" for name, cls in TOY_PROBES.items()}
    provider = EntryPoint("toyworld", "clipsafety.toyworld.provider:PROVIDER", ENTRY_POINT_GROUP).load()
    assert isinstance(provider, ModelProvider) and provider.kind == "toy"
    assert set(provider.named_models()) == {"toyclip-fair", "toyclip-biased"}


def test_the_installed_entry_points_are_the_declared_ones():
    fix = "re-run: pip install --no-deps -e . (the install's entry points predate pyproject.toml)"
    for group in ("clipsafety.models", "clipsafety.probes"):
        installed = {ep.name: ep.value for ep in entry_points(group=group)}
        for name, value in declared_entry_points(group).items():
            assert installed.get(name) == value, fix


def test_toy_probes_are_not_core_probes_but_load_through_entry_points():
    assert not set(TOY_PROBES) & set(PROBE_TYPES)
    for name, cls_name in TOY_PROBES.items():
        cls = get_probe_class(name)
        assert issubclass(cls, Probe) and cls.__name__ == cls_name and cls.__module__ == "clipsafety.toyworld.probes"
        assert cls.applies_to == {"toy"}


def test_core_source_never_imports_the_toy_world():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "toyworld" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = ("." * node.level) + (node.module or "")
                names = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any("toyworld" in n for n in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_importing_every_core_module_imports_no_toy_world_module():
    modules = core_modules()
    assert {"clipsafety.models.load", "clipsafety.run.session", "clipsafety.plugin.hooks", "clipsafety.probes"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('clipsafety.toyworld')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["toyclip-fair", "toyclip-biased"])
def test_bundled_folders_declare_their_kind(name):
    card = json.loads((bundled_model_dir(name) / "card.json").read_text())
    assert card["kind"] == "toy"
    assert named_models()[name].provider == "toyworld" and named_models()[name].folder == bundled_model_dir(name)


def test_a_toy_folder_loaded_by_path_is_a_toy_model(tmp_path):
    folder = tmp_path / "my-toy"
    shutil.copytree(bundled_model_dir("toyclip-fair"), folder)
    by_path = load_model(f"local-dir:{folder}")
    by_name = load_model("toyclip-fair")
    assert by_path.kind == by_name.kind == "toy"
    assert isinstance(by_path.tokenizer, ToyTokenizer)
    assert by_path.fingerprint == by_name.fingerprint  # same weights, same architecture
    assert (by_path.encode_text(["a red cross"]) == by_name.encode_text(["a red cross"])).all()


def test_a_toy_folder_that_does_not_declare_its_kind_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "old-toy"
    shutil.copytree(bundled_model_dir("toyclip-fair"), folder)
    card = json.loads((folder / "card.json").read_text())
    del card["kind"]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError) as err:
        load_model(f"local-dir:{folder}")
    text = str(err.value)
    assert str(folder / "open_clip_config.json") in text and "text_cfg.vocab_size" in text
    assert '"kind": "toy"' in text and "card.json" in text


def test_a_kind_in_the_config_counts_as_much_as_one_in_the_card(tmp_path):
    folder = tmp_path / "config-kind"
    shutil.copytree(bundled_model_dir("toyclip-biased"), folder)
    card = json.loads((folder / "card.json").read_text())
    del card["kind"]
    (folder / "card.json").write_text(json.dumps(card))
    config = json.loads((folder / "open_clip_config.json").read_text())
    (folder / "open_clip_config.json").write_text(json.dumps({**config, "kind": "toy"}))
    assert load_model(f"local-dir:{folder}").kind == "toy"
    forget_loaded_models()
    (folder / "open_clip_config.json").write_text(json.dumps({**config, "kind": "natural"}))
    card["kind"] = "toy"
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="declare different kinds"):
        load_model(f"local-dir:{folder}")
