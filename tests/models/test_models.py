"""Model loading: offline errors, checkpoints, fingerprints, devices."""

from __future__ import annotations

import json
import re
import time
from importlib.metadata import EntryPoint

import open_clip
import pytest
import torch

from clipsafety.util.errors import ModelLoadError
from clipsafety.models.load import (
    default_pretrained,
    fingerprint_model,
    forget_loaded_models,
    load_model,
    resolve_device,
    save_checkpoint,
)

from clipsafety.models.testing import TINY_CFG, make_tiny_model, write_tiny_model_folder


class Payload:  # an arbitrary object, not tensors: weights_only=True must refuse it
    pass


def test_uncached_tag_fails_fast_with_a_fix(tmp_path):
    started = time.perf_counter()
    with pytest.raises(ModelLoadError) as err:
        load_model("ViT-B-32", "laion2b_s34b_b79k", cache_dir=str(tmp_path))
    assert time.perf_counter() - started < 10  # no network retries
    text = str(err.value)
    assert "laion2b_s34b_b79k" in text and "not available offline" in text
    assert "--clip-pretrained=/path/to" in text and "local-dir:" in text


def test_default_tag_is_open_clips_first():
    assert default_pretrained("ViT-B-32") == "openai"


def test_default_tag_is_used_when_none_given(tmp_path):
    with pytest.raises(ModelLoadError, match="pretrained tag 'openai' for ViT-B-32"):
        load_model("ViT-B-32", cache_dir=str(tmp_path))


def test_hub_model_not_cached_fails_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match="hf-hub:org/nothing.*not available offline"):
        load_model("hf-hub:org/nothing", cache_dir=str(tmp_path))


@pytest.mark.parametrize(
    "name, pretrained, expected",
    [
        ("ViT-B-23", None, "unknown model 'ViT-B-23' (did you mean 'ViT-B-32'"),
        ("ViT-B-32", "laion2b_s34b", "did you mean 'laion2b_s34b_b79k'"),
        ("ViT-B-32", "/no/such/file.safetensors", "checkpoint file not found"),
        ("local-dir:/no/such/dir", None, "open_clip_config.json not found"),
    ],
)
def test_bad_names_give_one_clear_message(name, pretrained, expected):
    with pytest.raises(ModelLoadError) as err:
        load_model(name, pretrained)
    assert expected in str(err.value)
    assert "fix:" in str(err.value)


def test_checkpoint_round_trip_and_stable_fingerprint(tmp_path, tiny_arch):
    model = make_tiny_model(seed=3)
    st = save_checkpoint(model, tmp_path / "w.safetensors")
    pt = tmp_path / "w.pt"
    torch.save(model.state_dict(), pt)

    a = load_model(tiny_arch, str(st))
    forget_loaded_models()
    b = load_model(tiny_arch, str(st))
    forget_loaded_models()
    c = load_model(tiny_arch, str(pt))
    assert a.fingerprint == b.fingerprint == c.fingerprint
    for key, value in model.state_dict().items():
        assert torch.equal(a.model.state_dict()[key], value)

    other = make_tiny_model(seed=4)
    save_checkpoint(other, tmp_path / "other.safetensors")
    assert load_model(tiny_arch, str(tmp_path / "other.safetensors")).fingerprint != a.fingerprint
    assert len(a.fingerprint) == 64


def test_fingerprint_covers_architecture_and_weights():
    model = make_tiny_model(seed=0)
    base = fingerprint_model(model, TINY_CFG)
    assert fingerprint_model(model, TINY_CFG) == base
    assert fingerprint_model(model, {**TINY_CFG, "embed_dim": 33}) != base
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-3
    assert fingerprint_model(model, TINY_CFG) != base


def test_local_dir_round_trip(tmp_path):
    model = make_tiny_model(seed=5)
    folder = tmp_path / "my-clip"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG, "preprocess_cfg": {}}))
    save_checkpoint(model, folder / "open_clip_model.safetensors")
    handle = load_model(f"local-dir:{folder}")
    pixels = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.normalize(model.encode_image(handle.normalize_pixels(pixels)), dim=-1)
    assert torch.allclose(handle.encode_images(pixels), expected, atol=1e-6)
    assert handle.input_size == 16 and handle.kind == "natural"


def test_pickled_code_and_corrupt_files_are_refused(tmp_path, tiny_arch):
    bad = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, bad)
    with pytest.raises(ModelLoadError, match="weights_only=True"):
        load_model(tiny_arch, str(bad))
    corrupt = tmp_path / "broken.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="could not read checkpoint"):
        load_model(tiny_arch, str(corrupt))


def test_wrong_architecture_checkpoint_names_the_mismatch(tmp_path, tiny_arch):
    other = open_clip.model.CLIP(**{**TINY_CFG, "embed_dim": 24})
    path = save_checkpoint(other, tmp_path / "other.safetensors")
    with pytest.raises(ModelLoadError, match="does not fit the architecture"):
        load_model(tiny_arch, str(path))


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ModelLoadError, match="unknown device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_random_init_loads_without_weights():
    handle = load_model("ViT-B-32", "random")
    assert handle.input_size == 224 and handle.pretrained == "random"
    assert handle.mean == pytest.approx(open_clip.OPENAI_DATASET_MEAN)


# -- what can run offline ---------------------------------------------------------------


def fake_hub_file(hub_cache, repo_id, filename, data=b"weights"):
    """A file laid out as huggingface_hub caches it: models--ORG--NAME/snapshots/REV/FILE, refs/main = REV."""
    repo = hub_cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123456789abcdef"
    snapshot.mkdir(parents=True, exist_ok=True)
    (snapshot / filename).write_bytes(data)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text("0123456789abcdef")
    return snapshot / filename


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty Hugging Face and open_clip caches under tmp_path, found the way huggingface_hub finds them."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # open_clip's URL downloads live in ~/.cache/clip
    return tmp_path / "hf" / "hub", tmp_path / "home" / ".cache" / "clip"


def listed(text, architecture, tag):
    return [line for line in text.splitlines() if re.match(rf"\s+{re.escape(architecture)}\s+{tag}\s", line)]


def _entries(main, capsys, *args) -> list[dict]:
    assert main(["models", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _tag(entries: list[dict], name: str, pretrained: str) -> dict | None:
    return next((e for e in entries if e["source"] == "open_clip" and (e["name"], e["pretrained"]) == (name, pretrained)),
                None)


def test_models_command_marks_the_weights_present_here_and_where(caches, capsys):
    from clipsafety.cli import main

    hub, url_cache = caches
    from_hub = fake_hub_file(hub, "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "open_clip_model.safetensors")
    url_cache.mkdir(parents=True)
    (url_cache / "RN50.pt").write_bytes(b"weights")  # RN50/openai is fetched from a URL
    everything = _entries(main, capsys, "--all")
    assert _tag(everything, "ViT-B-32", "laion2b_s34b_b79k")["path"] == str(from_hub)
    assert _tag(everything, "RN50", "openai")["path"] == str(url_cache / "RN50.pt")
    absent = _tag(everything, "ViT-B-32", "openai")
    assert absent["path"] is None and not absent["usable"]
    toy = next(e for e in everything if e["name"] == "toyclip-fair")
    assert toy["kind"] == "toy" and toy["fingerprint"].startswith("50c202626e37")
    usable = _entries(main, capsys)  # by default: what a run can use now
    assert _tag(usable, "ViT-B-32", "laion2b_s34b_b79k") and not _tag(usable, "ViT-B-32", "openai")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert str(from_hub) in out and "absent" not in out


def test_models_command_without_cached_weights_says_none(caches, capsys):
    from clipsafety.cli import main

    assert not [e for e in _entries(main, capsys) if e["source"] == "open_clip"]
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "no open_clip pretrained weights on this machine" in out and str(caches[0]) in out
    assert _tag(_entries(main, capsys, "--all"), "ViT-B-32", "openai")["usable"] is False


def test_load_model_looks_in_the_cache_the_environment_names_now(caches, tmp_path, monkeypatch):
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "elsewhere"))
    with pytest.raises(ModelLoadError, match=re.escape(str(tmp_path / "elsewhere"))):
        load_model("ViT-B-32", "laion2b_s34b_b79k")


def test_a_hub_model_in_the_local_cache_loads_offline(caches, tmp_path):
    hub, _ = caches
    model = make_tiny_model(seed=7)
    config = json.dumps({"model_cfg": TINY_CFG, "preprocess_cfg": {}}).encode()
    fake_hub_file(hub, "org/tiny-clip", "open_clip_config.json", config)
    weights = save_checkpoint(model, tmp_path / "w.safetensors").read_bytes()
    fake_hub_file(hub, "org/tiny-clip", "open_clip_model.safetensors", weights)
    handle = load_model("hf-hub:org/tiny-clip")
    assert handle.kind == "natural" and str(hub) in handle.source
    for key, value in model.state_dict().items():
        assert torch.equal(handle.model.state_dict()[key], value)


# -- model providers ------------------------------------------------------------------------


def test_a_registered_provider_names_models_and_reads_its_kind(tmp_path):
    from clipsafety.models.providers import ModelProvider, register_model_provider, unregister_model_provider

    folder = tmp_path / "third"
    write_tiny_model_folder(folder)
    (folder / "card.json").write_text(json.dumps({"name": "third-party-clip", "kind": "plain"}))
    register_model_provider("third", ModelProvider(kind="plain", named_models=lambda: {"third-party-clip": folder}))
    try:
        handle = load_model("third-party-clip")
        assert handle.kind == "plain" and handle.pretrained is None and str(folder) in handle.source
        with pytest.raises(ModelLoadError, match="from provider 'third'.*takes no --clip-pretrained"):
            load_model("third-party-clip", "openai")
    finally:
        unregister_model_provider("third")
    forget_loaded_models()
    with pytest.raises(ModelLoadError, match="declares kind 'plain', which no installed model provider reads"):
        load_model(f"local-dir:{folder}")
    with pytest.raises(ModelLoadError, match="unknown model 'third-party-clip'"):
        load_model("third-party-clip")


def test_a_broken_provider_entry_point_is_reported_and_spares_the_others(monkeypatch):
    import clipsafety.models.providers as providers

    real = providers.entry_points
    group = providers.ENTRY_POINT_GROUP
    fake = [*real(group=group), EntryPoint("broken", "no_such_module_xyz:PROVIDER", group),
            EntryPoint("wrong", "os:path", group)]
    monkeypatch.setattr(providers, "entry_points", lambda group: fake if group == providers.ENTRY_POINT_GROUP else [])
    providers.reload_model_providers()
    try:
        assert load_model("toyclip-fair").kind == "toy"
        problems = providers.provider_problems()
        assert "cannot be imported" in problems["broken"] and "not a clipsafety ModelProvider" in problems["wrong"]
        with pytest.raises(ModelLoadError, match="model provider 'broken' is unusable"):
            load_model("toyclip-nope")
    finally:
        providers.reload_model_providers()


def test_models_command_lists_a_broken_named_model_and_goes_on(caches, tmp_path, capsys):
    from clipsafety.cli import main
    from clipsafety.models.providers import ModelProvider, register_model_provider, unregister_model_provider

    register_model_provider("third", ModelProvider(kind="plain", named_models=lambda: {"gone": tmp_path / "gone"}))
    try:
        assert main(["models"]) == 0
    finally:
        unregister_model_provider("third")
    out = capsys.readouterr().out
    assert re.search(r"toyclip-fair\s+kind toy", out) and "gone" not in out  # unusable: only with --all
    register_model_provider("third", ModelProvider(kind="plain", named_models=lambda: {"gone": tmp_path / "gone"}))
    try:
        assert main(["models", "--all"]) == 0
    finally:
        unregister_model_provider("third")
    out = capsys.readouterr().out
    assert re.search(r"gone\s+unusable: .*open_clip_config.json not found", out)
    assert re.search(r"toyclip-fair\s+kind toy", out)


def test_a_prompts_text_embedding_does_not_depend_on_what_was_encoded_with_it():
    """The memo keeps a prompt's first embedding: it must be the same whatever shared that first call
    (else an image depends on the process's history, and a Ray worker's differs from a local run's)."""
    alone = load_model("toyclip-fair", device="cpu", precision="fp32").encode_text(["a doctor"])[0].clone()
    forget_loaded_models()
    together = load_model("toyclip-fair", device="cpu", precision="fp32").encode_text(["a nurse", "a doctor"])[1]
    assert torch.equal(alone, together)


def test_a_random_init_draws_from_its_own_seed_so_every_process_gets_the_same_model(tiny_arch):
    import torch

    from clipsafety.models.load import forget_loaded_models, load_model

    first = load_model(tiny_arch, "random").fingerprint
    forget_loaded_models()
    torch.manual_seed(12345)  # the caller's random state neither changes the model nor is consumed by it
    state = torch.get_rng_state()
    assert load_model(tiny_arch, "random").fingerprint == first
    assert torch.equal(torch.get_rng_state(), state)
