"""A bad model folder or checkpoint is one ModelLoadError naming the file, the field and the fix.

Each case was a traceback (or an INTERNALERROR under pytest) before: an unknown
config key (TypeError), a huge width (a many-gigabyte allocation), a Hugging
Face tokenizer (an import of transformers, possibly the network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from clipsafety.util import limits
from clipsafety.util.errors import ModelLoadError
from clipsafety.models.config import check_model_config
from clipsafety.models.load import load_model, save_checkpoint
from clipsafety.models.testing import TINY_CFG, make_tiny_model, write_tiny_model_folder


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "my-clip"
    write_tiny_model_folder(path)
    return path


def write_config(folder, model_cfg=None, **extra):
    config = {"model_cfg": TINY_CFG if model_cfg is None else model_cfg, "preprocess_cfg": {}, **extra}
    (folder / "open_clip_config.json").write_text(json.dumps(config))


def refusal(folder) -> str:
    with pytest.raises(ModelLoadError) as err:
        load_model(f"local-dir:{folder}")
    return str(err.value)


def with_tower(section, **fields):
    return {**TINY_CFG, section: {**TINY_CFG[section], **fields}}


def test_the_valid_folder_loads(folder):
    assert load_model(f"local-dir:{folder}").kind == "natural"


@pytest.mark.parametrize("model_cfg, field, expected", [
    ({**TINY_CFG, "embed_dimm": 32}, "model_cfg.embed_dimm", "did you mean 'embed_dim'"),
    (with_tower("vision_cfg", widht=32), "model_cfg.vision_cfg.widht", "did you mean 'width'"),
    (with_tower("text_cfg", colour="red"), "model_cfg.text_cfg.colour", "is not a setting clipsafety can build"),
    ({**TINY_CFG, "custom_text": True}, "model_cfg.custom_text", "is not a setting clipsafety can build"),
])
def test_an_unknown_config_key_is_named(folder, model_cfg, field, expected):
    write_config(folder, model_cfg)
    text = refusal(folder)
    assert str(folder / "open_clip_config.json") in text and field in text and expected in text
    assert "fix: remove it" in text


@pytest.mark.parametrize("model_cfg, field", [
    ({k: v for k, v in TINY_CFG.items() if k != "embed_dim"}, "model_cfg.embed_dim is missing"),
    ({**TINY_CFG, "embed_dim": "32"}, "model_cfg.embed_dim must be a positive whole number"),
    (with_tower("vision_cfg", width=-4), "model_cfg.vision_cfg.width must be a positive whole number"),
    (with_tower("vision_cfg", layers=1.5), "model_cfg.vision_cfg.layers must be a positive whole number"),
    (with_tower("vision_cfg", layers=[1, 2]), "a ResNet needs 4 stage depths"),
    (with_tower("vision_cfg", image_size=100_000), "above clipsafety's limit of"),
    (with_tower("text_cfg", heads=True), "model_cfg.text_cfg.heads must be a positive whole number"),
    (with_tower("text_cfg", heads=3), "model_cfg cannot be built"),  # width 32 is not a multiple of 3 heads
    ([1, 2, 3], "model_cfg must be an object"),
])
def test_a_wrongly_typed_config_value_is_named(folder, model_cfg, field):
    write_config(folder, model_cfg)
    text = refusal(folder)
    assert str(folder / "open_clip_config.json") in text and field in text


def test_a_huge_width_is_refused_before_anything_is_allocated(folder):
    write_config(folder, with_tower("vision_cfg", width=200_000, layers=12))  # ~51 GB of fp32
    started = time.perf_counter()
    text = refusal(folder)
    assert time.perf_counter() - started < 2
    assert "model_cfg implies about" in text and "GB in fp32" in text
    assert f"limit of {limits.MAX_MODEL_PARAMS:,} (MAX_MODEL_PARAMS)" in text
    assert "CLIPSAFETY_MAX_MODEL_PARAMS" in text


def test_the_parameter_limit_is_the_one_in_limits(folder, monkeypatch):
    monkeypatch.setattr(limits, "MAX_MODEL_PARAMS", 1_000_000)  # the tiny CLIP has 1.6 M
    assert "limit of 1,000,000" in refusal(folder)
    monkeypatch.setattr(limits, "MAX_MODEL_PARAMS", 2_000_000)
    assert load_model(f"local-dir:{folder}").kind == "natural"


@pytest.mark.parametrize("name", ["ViT-B-32", "RN50", "convnext_base"])
def test_the_implied_parameter_count_is_the_built_models(name, tmp_path):
    import open_clip

    cfg = {k: v for k, v in open_clip.get_model_config(name).items() if k in ("embed_dim", "vision_cfg", "text_cfg")}
    with torch.device("meta"):
        built = open_clip.model.CLIP(**cfg)
    real = sum(p.numel() for p in built.parameters())
    assert check_model_config(cfg, tmp_path / "c.json") == pytest.approx(real, rel=1e-3)


def test_the_tiny_configs_count_is_exact(tmp_path):
    assert check_model_config(TINY_CFG, tmp_path / "c.json") == sum(p.numel() for p in make_tiny_model().parameters())


@pytest.mark.parametrize("section, fields, field", [
    ("text_cfg", {"hf_tokenizer_name": "bert-base-uncased"}, "model_cfg.text_cfg.hf_tokenizer_name"),
    ("text_cfg", {"hf_model_name": "roberta-base"}, "model_cfg.text_cfg.hf_model_name"),
    ("vision_cfg", {"timm_model_name": "convnext_base", "timm_model_pretrained": True},
     "model_cfg.vision_cfg.timm_model_pretrained"),
])
def test_towers_and_tokenizers_that_would_download_are_refused(folder, section, fields, field):
    write_config(folder, with_tower(section, **fields))
    text = refusal(folder)
    assert field in text and "clipsafety never downloads" in text and str(folder / "open_clip_config.json") in text
    assert "transformers" not in sys.modules


def test_a_hugging_face_tokenizer_never_imports_transformers(folder):
    write_config(folder, with_tower("text_cfg", hf_tokenizer_name="bert-base-uncased"))
    code = ("import sys\nfrom clipsafety.models.load import load_model\nfrom clipsafety.util.errors import ModelLoadError\n"
            f"try: load_model({f'local-dir:{folder}'!r})\nexcept ModelLoadError as e: print('refused')\n"
            "print('transformers' in sys.modules)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.split() == ["refused", "False"]


@pytest.mark.parametrize("text, expected", [
    ('{"model_cfg": {', "not valid JSON (line 1 column"),
    ("[1, 2]", "must hold a JSON object, got list"),
    ("[" * 100_000, "not valid JSON"),
    ('{"preprocess_cfg": {}}', "model_cfg is missing"),
])
def test_a_malformed_config_file_is_named(folder, text, expected):
    (folder / "open_clip_config.json").write_text(text)
    message = refusal(folder)
    assert str(folder / "open_clip_config.json") in message and expected in message and "fix:" in message


def test_a_config_that_is_not_utf8_is_named(folder):
    (folder / "open_clip_config.json").write_bytes(b'{"model_cfg": "\xff\xfe"}')
    assert "not valid JSON" in refusal(folder)


@pytest.mark.parametrize("preprocess, expected", [
    ({"mean": [0.5, 0.5]}, "preprocess_cfg.mean must be three numbers"),
    ({"std": [0.5, 0.0, 0.5]}, "preprocess_cfg.std must be three numbers"),
    ("fast", "preprocess_cfg must be an object"),
])
def test_a_bad_normalisation_is_named(folder, preprocess, expected):
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG, "preprocess_cfg": preprocess}))
    assert expected in refusal(folder)


def test_a_missing_weights_file_is_named(folder):
    (folder / "open_clip_model.safetensors").unlink()
    text = refusal(folder)
    assert f"no weights in {folder}" in text and "open_clip_model.safetensors" in text and "fix:" in text


def test_unknown_tokenizer_arguments_are_named(folder):
    write_config(folder, with_tower("text_cfg", tokenizer_kwargs={"lowercase": "yes please"}))
    text = refusal(folder)
    assert "model_cfg.text_cfg.tokenizer_kwargs cannot be used" in text and "fix:" in text


@pytest.mark.parametrize("card, expected", [
    ('{"kind": "Toy World!"}', "kind must be a short lowercase name"),
    ('{"kind": "alien"}', "declares kind 'alien', which no installed model provider reads"),
    ("{not json", "not valid JSON"),
])
def test_a_bad_card_is_named(folder, card, expected):
    (folder / "card.json").write_text(card)
    text = refusal(folder)
    assert expected in text and "fix:" in text


# -- checkpoints --------------------------------------------------------------------------


def assert_no_torch_advice(text: str) -> None:
    """torch advises retrying with weights_only set to False, which would run the file's code."""
    for advice in ("weights_only=False", "set to `False`", "Re-running", "add_safe_globals", "trust"):
        assert advice not in text


class Payload:  # a custom class: a checkpoint holding one is pickled code, not tensors
    pass


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch SHOULD_NOT_EXIST",))


def test_a_checkpoint_with_a_custom_class_is_refused_without_torchs_advice(tmp_path, tiny_arch):
    bad = tmp_path / "evil.pt"
    torch.save({**make_tiny_model().state_dict(), "extra": Payload()}, bad)
    with pytest.raises(ModelLoadError) as err:
        load_model(tiny_arch, str(bad))
    text = str(err.value)
    assert str(bad) in text and f"{__name__}.Payload" in text and "refuses it" in text
    assert "safetensors" in text and "weights_only=True" in text
    assert_no_torch_advice(text)


def test_a_checkpoint_that_would_run_code_never_runs_it(tmp_path, tiny_arch, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "runs-code.pt"
    torch.save({"x": RunsCode()}, bad)
    with pytest.raises(ModelLoadError) as err:
        load_model(tiny_arch, str(bad))
    assert "system" in str(err.value)
    assert_no_torch_advice(str(err.value))
    assert not (tmp_path / "SHOULD_NOT_EXIST").exists()


def test_a_checkpoint_of_plain_tensors_still_loads(tmp_path, tiny_arch):
    good = tmp_path / "plain.pt"
    torch.save(make_tiny_model(seed=2).state_dict(), good)
    assert load_model(tiny_arch, str(good)).fingerprint == load_model(
        tiny_arch, str(save_checkpoint(make_tiny_model(seed=2), tmp_path / "w.safetensors"))).fingerprint


def test_a_garbage_checkpoint_is_refused_without_torchs_advice(tmp_path, tiny_arch):
    for name, data in (("garbage.pt", b"garbage data"), ("garbage.bin", b"PK\x03\x04 truncated zip")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelLoadError) as err:
            load_model(tiny_arch, str(tmp_path / name))
        assert "could not read checkpoint" in str(err.value)
        assert_no_torch_advice(str(err.value))


# -- end to end -------------------------------------------------------------------------

SUITE = """
clipsafety: 1
name: bad-model
inversion: {profile: paper, seeds: 1, overrides: {steps: 2, init_size: 16, upscale_steps: [], copies: 1}}
probes:
  sim: {type: similarity}
prompts: [a dog]
checks:
  - {id: reached, metric: sim.mean, op: ">", threshold: -1.0}
"""


def test_a_bad_config_under_clipsafety_run_is_one_message_not_a_traceback(folder, tmp_path, capsys, monkeypatch):
    from clipsafety.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "suite.clipsafety.yaml").write_text(SUITE)
    write_config(folder, {**TINY_CFG, "embed_dimm": 32})
    code = main(["run", "suite.clipsafety.yaml", f"--clip-model=local-dir:{folder}", "--clip-report=",
                 "--clip-results=r.json"])
    err = capsys.readouterr().err
    assert code != 0 and "model_cfg.embed_dimm" in err and "Traceback" not in err
