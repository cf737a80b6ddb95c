"""The training entry point: a tiny run writes an open_clip folder the core loads as a synthetic model."""

import json

import pytest
import torch
from clipsafety.synthworld.tokenizer import WorldTokenizer

from clipsafety.models import load_model
from clipsafety.models.providers import register_model_provider, unregister_model_provider
from clipsafety.synthworld import KIND, SPEC_DIR, WORDS, WorldSpec
from clipsafety.synthworld.provider import PROVIDER
from clipsafety.synthworld.synthclip import MODEL_FILES, VOCAB_SIZE
from clipsafety.synthworld.train import main

TINY = ["--steps", "3", "--batch-size", "8", "--threads", "1", "--eval-images", "8", "--lean-pairs", "2",
        "--warmup", "1", "--log-every", "1"]


@pytest.fixture
def synthetic_kind():
    """The provider, registered in this process as its entry point registers it in an install."""
    register_model_provider("synthworld-test", PROVIDER)
    yield
    unregister_model_provider("synthworld-test")


def _train(out, seed, spec=str(SPEC_DIR / "biased.yaml"), extra=()):
    assert main(["--spec", spec, "--out", str(out), "--seed", str(seed), *TINY, *extra]) == 0
    return (out / "open_clip_model.safetensors").read_bytes()


def test_a_tiny_training_writes_a_folder_the_core_loads(tmp_path, capsys, synthetic_kind):
    rng_state, threads = torch.get_rng_state(), torch.get_num_threads()
    _train(tmp_path / "synthclip-tiny", seed=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthclip-tiny"]  # no temporaries left
    folder = tmp_path / "synthclip-tiny"
    assert sorted(p.name for p in folder.iterdir()) == sorted(MODEL_FILES)
    assert "step 3/3" in capsys.readouterr().err

    config = json.loads((folder / "open_clip_config.json").read_text())
    text_cfg = config["model_cfg"]["text_cfg"]
    assert text_cfg["vocab_size"] == VOCAB_SIZE and text_cfg["context_length"] == 16
    assert config["preprocess_cfg"]["size"] == 48 and len(config["preprocess_cfg"]["mean"]) == 3
    card = json.loads((folder / "card.json").read_text())
    assert card["kind"] == KIND == "synthetic" and card["training_seed"] == 3 and card["steps"] == 3
    assert card["spec_file"] == "biased.yaml" and card["torch"] == torch.__version__
    assert set(card["accuracy"]) == {"gender", "markers", "objects", "scenes", "pairs"}
    assert set(card["word_rates"]) == set(WORDS) and card["word_rates"]["doctor"]["planted_man"] == 0.9
    assert {"seen_man", "seen_images", "prefers_man", "lean"} <= set(card["word_rates"]["nurse"])
    assert WorldSpec.from_yaml(folder / "spec.yaml").planted()["doctor"] == 0.9

    handle = load_model(f"local-dir:{folder}")
    assert handle.kind == "synthetic" and handle.input_size == 48
    assert isinstance(handle.tokenizer, WorldTokenizer) and handle.tokenizer.context_length == 16
    assert handle.unreadable("a photo of a doctor") is None
    assert handle.encode_text(["a photo of a doctor", "an astronaut riding a horse"]).shape == (2, 128)
    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_training_is_deterministic_for_a_seed_and_draws_random_worlds(tmp_path):
    extra = ["--steps", "2"]
    first = _train(tmp_path / "a", seed=1, spec="random:5", extra=extra)
    assert first == _train(tmp_path / "a", seed=1, spec="random:5", extra=extra)  # replaces the folder in place
    assert first != _train(tmp_path / "b", seed=2, spec="random:5", extra=extra)
    card = json.loads((tmp_path / "a" / "card.json").read_text())
    assert card["spec_name"] == "random-5" and card["spec_file"] == "spec.yaml"
    assert "random_spec(5)" in WorldSpec.from_yaml(tmp_path / "a" / "spec.yaml").description


def test_bad_specs_or_settings_give_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--spec", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "m")]) == 2
    assert "missing.yaml: cannot read the world spec" in capsys.readouterr().err
    assert main(["--spec", "random:seven", "--out", str(tmp_path / "m")]) == 2
    assert "random: takes an integer seed" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--spec", str(SPEC_DIR / "fair.yaml"), "--out", str(tmp_path / "m"), "--batch-size", "1"])
    assert exit_info.value.code == 2 and "--batch-size must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_an_interrupted_training_leaves_the_old_folder_whole(tmp_path, capsys, monkeypatch):
    from clipsafety.synthworld import train as train_module

    before = _train(tmp_path / "m", seed=3, extra=["--steps", "1"])

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "samples", interrupt)
    assert main(["--spec", str(SPEC_DIR / "fair.yaml"), "--out", str(tmp_path / "m"), *TINY]) == 130
    assert "interrupted: nothing was written" in capsys.readouterr().err
    assert (tmp_path / "m" / "open_clip_model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
