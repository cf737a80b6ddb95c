"""The synthetic world is a plugin of the core: a provider of its own kind, naming only folders that exist."""

import json

from clipsafety.models.providers import ModelProvider
from clipsafety.synthworld import BUNDLED, KIND, bundled_model_dir, bundled_models
from clipsafety.synthworld.provider import PROVIDER, world_tokenizer
from clipsafety.synthworld.tokenizer import WorldTokenizer


def test_the_provider_reads_synthetic_folders_with_the_world_tokenizer():
    assert isinstance(PROVIDER, ModelProvider)
    assert PROVIDER.kind == KIND == "synthetic" and PROVIDER.tokenizer is world_tokenizer
    assert PROVIDER.named_models is bundled_models
    assert BUNDLED == ("synthclip-fair", "synthclip-biased")


def test_only_trained_folders_are_named(tmp_path, monkeypatch):
    import clipsafety.synthworld as synthworld

    monkeypatch.setattr(synthworld, "MODEL_DIR", tmp_path / "models")
    assert bundled_models() == {}  # nothing trained yet: no names, no error
    (tmp_path / "models" / "synthclip-fair").mkdir(parents=True)
    (tmp_path / "models" / "synthclip-fair" / "card.json").write_text(json.dumps({"kind": "synthetic"}))
    (tmp_path / "models" / "synthclip-biased").mkdir()  # a folder without a card is not a model
    (tmp_path / "models" / ".synthclip-biased.tmp").mkdir()  # train.py's half-written temporary
    (tmp_path / "models" / ".synthclip-biased.tmp" / "card.json").write_text("{}")
    assert bundled_models() == {"synthclip-fair": tmp_path / "models" / "synthclip-fair"}
    assert bundled_model_dir("synthclip-fair") == tmp_path / "models" / "synthclip-fair"
    try:
        bundled_model_dir("synthclip-biased")
    except KeyError as err:
        assert "synthclip-fair" in str(err) and "clipsafety.synthworld.train" in str(err)
    else:
        raise AssertionError("an untrained model was named")


def test_importing_the_world_needs_neither_torch_nor_open_clip():
    import subprocess
    import sys

    code = ("import sys, clipsafety.synthworld, clipsafety.synthworld.provider; "
            "print(sorted(m for m in ('torch', 'open_clip') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_world_tokenizer_reads_open_clips_bpe_and_refuses_words_the_world_never_shows():
    import open_clip

    tokenizer = WorldTokenizer(context_length=16)
    bpe = open_clip.get_tokenizer("ViT-B-32")
    assert (tokenizer(["a photo of a doctor"]) == bpe(["a photo of a doctor"], context_length=16)).all()
    assert tokenizer.unreadable("a photo of a doctor") is None
    assert tokenizer.unreadable("A photo of a CEO") is None  # read lower-cased, as the BPE reads it
    assert "'lawyer'" in tokenizer.unreadable("a photo of a lawyer")
    long = "a photo of a doctor " * 4
    assert all(w in tokenizer.words for w in long.split()) and "over the model's context" in tokenizer.unreadable(long)


def test_every_text_of_the_natural_suites_is_readable_by_the_world():
    from pathlib import Path

    from clipsafety.suite import load_suite

    tokenizer = WorldTokenizer(context_length=16)
    suites = sorted((Path(__file__).parents[2] / "suites").glob("*.clipsafety.yaml"))
    texts = []
    for path in suites:
        suite = load_suite(path)
        if "natural" not in suite.applies_to:
            continue
        texts += [p.text for p in suite.prompts]
        texts += [p.control for p in suite.prompts if p.control]
        for spec in suite.probes.values():
            texts += list(spec.anchors or ()) + list(spec.settings.get("labels", ()))
    assert len(texts) > 20
    assert [t for t in texts if tokenizer.unreadable(t)] == []
