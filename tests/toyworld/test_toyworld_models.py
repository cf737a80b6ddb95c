"""The bundled toy models: layout, loading through open_clip, zero-shot quality bars."""

import json

import pytest
import torch

from clipsafety.toyworld import bundled_model_dir, bundled_models, load_toy_model, zero_shot_accuracy
from clipsafety.toyworld.toyclip import MODEL_FILES

NAMES = ["toyclip-fair", "toyclip-biased"]


def test_both_models_are_bundled():
    assert set(NAMES) <= set(bundled_models())
    with pytest.raises(KeyError, match="toyclip-fair"):
        bundled_model_dir("toyclip-nope")


@pytest.mark.parametrize("name", NAMES)
def test_folder_layout(name):
    folder = bundled_model_dir(name)
    assert sorted(p.name for p in folder.iterdir()) == sorted(MODEL_FILES)
    assert (folder / "open_clip_model.safetensors").stat().st_size <= 10 * 2**20
    config = json.loads((folder / "open_clip_config.json").read_text())
    assert set(config) == {"model_cfg", "preprocess_cfg"}
    assert config["preprocess_cfg"]["size"] == 32
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == name and card["kind"] == "toy" and card["spec_file"] == name.split("-")[1] + ".yaml"
    assert card["accuracy"]["colour"] >= 0.95 and card["accuracy"]["shape"] >= 0.90


@pytest.mark.parametrize("name", NAMES)
def test_open_clip_local_dir_loads_the_same_weights(name):
    import open_clip

    folder = bundled_model_dir(name)
    model = open_clip.create_model(f"local-dir:{folder}", device="cpu")
    toy = load_toy_model(folder)
    for key, value in toy.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize("name", NAMES)
def test_zero_shot_accuracy_on_fresh_renders(name):
    toy = load_toy_model(bundled_model_dir(name))
    accuracy = zero_shot_accuracy(toy.model, toy.tokenizer, toy.spec, toy.mean, toy.std, n=200, seed=7)
    assert accuracy["colour"] >= 0.95, accuracy
    assert accuracy["shape"] >= 0.90, accuracy
