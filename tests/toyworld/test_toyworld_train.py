"""The training entry point: folder layout, determinism, no leaked global state."""

import json

import torch

from clipsafety.models.load import load_model
from clipsafety.toyworld import SPEC_DIR, load_toy_model
from clipsafety.toyworld.toyclip import MODEL_FILES
from clipsafety.toyworld.train import main


def _train(out, seed):
    argv = ["--spec", str(SPEC_DIR / "fair.yaml"), "--out", str(out), "--seed", str(seed),
            "--steps", "2", "--batch-size", "16", "--eval-images", "16", "--log-every", "1"]
    assert main(argv) == 0
    return (out / "open_clip_model.safetensors").read_bytes()


def test_tiny_training_writes_a_loadable_folder_deterministically(tmp_path, capsys):
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    first = _train(tmp_path / "toyclip-a", seed=3)
    again = _train(tmp_path / "toyclip-a", seed=3)  # replaces the folder in place
    other = _train(tmp_path / "toyclip-b", seed=4)
    assert first == again and first != other
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toyclip-a", "toyclip-b"]  # no temporaries left
    assert sorted(p.name for p in (tmp_path / "toyclip-a").iterdir()) == sorted(MODEL_FILES)
    assert "step 2/2" in capsys.readouterr().err

    card = json.loads((tmp_path / "toyclip-a" / "card.json").read_text())
    assert card["name"] == "toyclip-a" and card["training_seed"] == 3 and card["steps"] == 2
    assert card["spec_file"] == "fair.yaml" and set(card["accuracy"]) >= {"colour", "shape"}
    assert card["kind"] == "toy"  # what makes the folder a toy model when loaded by path
    toy = load_toy_model(tmp_path / "toyclip-a")
    assert toy.spec.name == "fair" and toy.tokenizer.vocab_size == toy.model.vocab_size
    handle = load_model(f"local-dir:{tmp_path / 'toyclip-a'}")
    assert handle.kind == "toy" and handle.tokenizer.vocab_size == toy.tokenizer.vocab_size

    assert torch.equal(torch.get_rng_state(), rng_state)  # global RNG untouched
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_bad_spec_or_settings_give_one_line_and_exit_2(tmp_path, capsys):
    import pytest

    assert main(["--spec", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "missing.yaml: cannot read the world spec" in err and "Traceback" not in err
    (tmp_path / "half.yaml").write_text("name: half\nimage_size: 32\n")
    assert main(["--spec", str(tmp_path / "half.yaml"), "--out", str(tmp_path / "m")]) == 2
    assert "half.yaml: missing key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--spec", str(SPEC_DIR / "fair.yaml"), "--out", str(tmp_path / "m"), "--batch-size", "1"])
    assert exit_info.value.code == 2 and "--batch-size must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_interrupted_training_leaves_the_old_folder_whole(tmp_path, capsys, monkeypatch):
    from clipsafety.toyworld import train as train_module

    before = _train(tmp_path / "toyclip-a", seed=3)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "sample_batch", interrupt)
    argv = ["--spec", str(SPEC_DIR / "fair.yaml"), "--out", str(tmp_path / "toyclip-a"), "--seed", "5"]
    assert main(argv) == 130
    assert "interrupted: nothing was written" in capsys.readouterr().err
    assert (tmp_path / "toyclip-a" / "open_clip_model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toyclip-a"]
