"""Probe registry and probes; a fake CLIP handle makes the zero-shot answers known."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import clipsafety.probes as registry
from clipsafety.util.errors import ProbeError
from clipsafety.probes import ProbeContext, SettingError, create_probe, get_probe_class, probe_names, validate_settings
from clipsafety.probes.base import Probe

RED, BLUE, GRAY = (230, 20, 20), (20, 20, 230), (128, 128, 128)


def solid(colour, n=1, size=32) -> np.ndarray:
    return np.tile(np.array(colour, np.uint8), (n, size, size, 1))


class FakeHandle:
    """A 'CLIP' whose image embedding is the mean RGB and whose text embedding is its colour word."""

    name, pretrained, kind, precision, fingerprint, input_size = "fake", None, "toy", "fp32", "0" * 16, 32
    device = torch.device("cpu")
    WORDS = {"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0], "blue": [0.0, 0.0, 1.0],
             "man": [1.0, 0.0, 0.0], "woman": [0.0, 0.0, 1.0]}

    def __init__(self):
        self.text_calls = 0

    def encode_text(self, texts):
        self.text_calls += 1
        rows = []
        for text in texts:
            word = next(w for w in reversed(text.split()) if w in self.WORDS)
            rows.append(self.WORDS[word])
        return torch.nn.functional.normalize(torch.tensor(rows), dim=-1)

    def encode_images(self, pixels):
        assert pixels.shape[1] == 3 and pixels.dtype == torch.float32 and float(pixels.max()) <= 1.0
        return torch.nn.functional.normalize(pixels.mean(dim=(2, 3)), dim=-1)


def context(handle=None, load_model=None):
    handle = handle or FakeHandle()
    return ProbeContext(handle=handle, load_model=load_model or (lambda *a, **k: pytest.fail("no judge")),
                        device=torch.device("cpu"))


# -- registry --------------------------------------------------------------------------


def test_builtin_probe_names():
    assert {"nsfw", "zero_shot", "gender", "similarity", "toy_colour", "toy_colour_bias", "toy_hazard"} <= set(probe_names())


def test_unknown_probe_suggests_a_name():
    with pytest.raises(ProbeError, match=r"unknown probe type 'gendr' \(did you mean 'gender'\?\)"):
        get_probe_class("gendr")


def test_probe_classes_declare_metadata():
    for name in probe_names():
        cls = get_probe_class(name)
        assert issubclass(cls, Probe) and cls.name == name
        lo, hi = cls.value_range
        assert lo < hi
    assert get_probe_class("similarity").value_range == (-1.0, 1.0)
    assert get_probe_class("toy_colour").applies_to == {"toy"}


def test_importing_probes_loads_neither_onnxruntime_nor_torch():
    code = (
        "import sys, clipsafety.probes as p\n"
        "for n in p.probe_names(): p.get_probe_class(n)\n"
        "print('onnxruntime' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_entry_point_probes_are_merged_but_cannot_replace_builtins(monkeypatch):
    fake = [
        EntryPoint("my_probe", "clipsafety.probes.similarity:SimilarityProbe", registry.ENTRY_POINT_GROUP),
        EntryPoint("nsfw", "somewhere.else:Hijack", registry.ENTRY_POINT_GROUP),
        EntryPoint("broken", "no_such_module_xyz:Probe", registry.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: fake if group == registry.ENTRY_POINT_GROUP else [])
    registry._plugin_types.cache_clear()
    registry.get_probe_class.cache_clear()
    try:
        assert "my_probe" in probe_names() and "broken" in probe_names()
        assert get_probe_class("my_probe").__name__ == "SimilarityProbe"
        assert registry.all_probe_types()["nsfw"] == registry.PROBE_TYPES["nsfw"]
        with pytest.raises(ProbeError, match="cannot be imported"):
            get_probe_class("broken")
    finally:
        registry._plugin_types.cache_clear()
        registry.get_probe_class.cache_clear()


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("zero_shot", {"labels": ["a", "b"], "lables": 1}, "did you mean 'labels'"),
        ("zero_shot", {}, "needs the setting 'labels'"),
        ("zero_shot", {"labels": ["a"]}, "at least two"),
        ("zero_shot", {"labels": ["a", "a"]}, "distinct"),
        ("zero_shot", {"labels": ["a", "b"], "target": "c"}, "not one of the labels"),
        ("zero_shot", {"labels": ["a", 2]}, "labels must be a list of strings"),
        ("gender", {"temperature": 0}, "must be > 0"),
        ("gender", {"temperature": True}, "temperature must be number"),
        ("gender", {"labels": ["x", "y"]}, "unknown setting 'labels'"),
        ("nsfw", {"providers": []}, "at least one"),
        ("toy_colour", {"colour": "purple"}, "not a toy-world colour"),
    ],
)
def test_settings_validation(name, settings, message):
    with pytest.raises(SettingError, match=message):
        validate_settings(get_probe_class(name), settings)


def test_create_probe_wraps_setting_errors():
    with pytest.raises(ProbeError, match="probe 'zero_shot': labels needs at least two"):
        create_probe("zero_shot", {"labels": ["a"]}, context())


# -- nsfw --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nsfw():
    return create_probe("nsfw", {}, context())


def test_nsfw_scores_are_probabilities_and_deterministic(nsfw):
    rng = np.random.default_rng(0)
    images = np.concatenate([solid(GRAY, size=64), rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)])
    first = nsfw.measure(images, ["x"] * 3)
    assert first.shape == (3,) and first.dtype == np.float64
    assert np.all((first >= 0) & (first <= 1))
    np.testing.assert_array_equal(first, nsfw.measure(images, ["x"] * 3))
    # a flat gray image reads about 0.198 with the reference preprocessing
    assert first[0] == pytest.approx(0.198, abs=0.01)


def test_nsfw_batch_equals_one_by_one(nsfw):
    images = np.random.default_rng(1).integers(0, 256, (4, 48, 48, 3), dtype=np.uint8)
    batch = nsfw.measure(images, ["x"] * 4)
    single = np.array([nsfw.measure(im[None], ["x"])[0] for im in images])
    np.testing.assert_allclose(batch, single, atol=1e-6)


def test_nsfw_rejects_non_uint8(nsfw):
    with pytest.raises(ValueError, match="uint8"):
        nsfw.measure(np.zeros((1, 8, 8, 3), np.float32), ["x"])


# -- zero_shot / gender / similarity ---------------------------------------------------


def test_zero_shot_target_wins_and_loses():
    ctx = context()
    probe = create_probe("zero_shot", {"labels": ["a red thing", "a blue thing"]}, ctx)
    red_first = probe.measure(np.concatenate([solid(RED), solid(BLUE)]), ["p", "p"])
    assert red_first[0] > 0.99 and red_first[1] < 0.01  # target (the first label) wins, then loses
    blue = create_probe("zero_shot", {"labels": ["a red thing", "a blue thing"], "target": "a blue thing"}, ctx)
    assert blue.measure(solid(RED), ["p"])[0] < 0.01
    details = probe.details(solid(RED), ["p"])[0]
    assert set(details) == {"a red thing", "a blue thing"} and sum(details.values()) == pytest.approx(1.0)


def test_zero_shot_temperature_softens():
    sharp = create_probe("zero_shot", {"labels": ["a red thing", "a blue thing"]}, context())
    soft = create_probe("zero_shot", {"labels": ["a red thing", "a blue thing"], "temperature": 1.0}, context())
    image = solid((200, 60, 60))
    assert 0.5 < soft.measure(image, ["p"])[0] < sharp.measure(image, ["p"])[0]


def test_zero_shot_label_embeddings_are_computed_once():
    handle = FakeHandle()
    probe = create_probe("zero_shot", {"labels": ["a red thing", "a blue thing"]}, context(handle))
    probe.measure(solid(RED, n=40), ["p"] * 40)  # two image chunks
    probe.measure(solid(RED), ["p"])
    assert handle.text_calls == 1


def test_zero_shot_loads_the_named_judge_once():
    calls = []

    def load_model(name, pretrained=None, device=None, **kw):
        calls.append((name, pretrained, device))
        return FakeHandle()

    ctx = context(handle=SimpleNamespace(), load_model=load_model)  # the model under test is never used
    probe = create_probe("gender", {"judge": "ViT-B-32", "judge_pretrained": "openai"}, ctx)
    probe.measure(solid(BLUE), ["p"])
    probe.measure(solid(BLUE), ["p"])
    assert calls == [("ViT-B-32", "openai", torch.device("cpu"))]


def test_gender_is_p_woman():
    probe = create_probe("gender", {}, context())
    values = probe.measure(np.concatenate([solid(RED), solid(BLUE)]), ["a doctor", "a nurse"])
    assert values[0] < 0.01 and values[1] > 0.99  # red reads "man", blue reads "woman" to the fake
    assert probe.labels == ["a photo of a man", "a photo of a woman"] and probe.target == "a photo of a woman"


def test_similarity_to_own_prompt():
    probe = create_probe("similarity", {}, context())
    values = probe.measure(np.concatenate([solid((255, 0, 0)), solid((255, 0, 0))]), ["a red cross", "a blue cross"])
    assert values == pytest.approx([1.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="one prompt per image"):
        probe.measure(solid(RED), ["a", "b"])


# -- toy probes ---------------------------------------------------------------------------


def test_toy_colour_matches_the_prompt_colour():
    probe = create_probe("toy_colour", {}, context())
    images = np.concatenate([solid(RED), solid(BLUE), solid(RED)])
    assert list(probe.measure(images, ["a red cross", "a red cross", "a blue square"])) == [1.0, 0.0, 0.0]


def test_toy_colour_setting_overrides_the_prompt():
    probe = create_probe("toy_colour", {"colour": "blue"}, context())
    assert list(probe.measure(np.concatenate([solid(RED), solid(BLUE)]), ["a doctor", "a doctor"])) == [0.0, 1.0]


def test_toy_colour_needs_a_colour_word():
    probe = create_probe("toy_colour", {}, context())
    with pytest.raises(ProbeError, match="names no colour"):
        probe.measure(solid(RED), ["a doctor"])
    with pytest.raises(ProbeError, match="several colours"):
        probe.measure(solid(RED), ["a red and blue cross"])


def test_toy_colour_bias_red_vs_blue():
    probe = create_probe("toy_colour_bias", {}, context())
    values = probe.measure(np.concatenate([solid((255, 0, 0)), solid((0, 0, 255)), solid(GRAY)]), ["p"] * 3)
    assert values == pytest.approx([1.0, -1.0, 0.0])


def test_toy_hazard_sees_magenta_black_stripes_only():
    stripes = np.zeros((32, 32, 3), np.uint8)
    stripes[0::4] = stripes[1::4] = (230, 0, 230)  # 2 rows magenta, 2 rows black
    probe = create_probe("toy_hazard", {}, context())
    values = probe.measure(np.stack([stripes, solid(RED)[0]]), ["p", "p"])
    assert values[0] == pytest.approx(1.0) and values[1] == 0.0


# -- through the real ModelHandle ----------------------------------------------------------


class TinyColourClip(torch.nn.Module):
    """An open_clip-shaped module: image embedding = mean normalised RGB; text = its colour word."""

    COLOURS = ["red", "green", "blue"]

    def __init__(self):
        super().__init__()
        self.visual = SimpleNamespace(image_size=16)
        self.scale = torch.nn.Parameter(torch.ones(1))

    def encode_image(self, pixels):
        return pixels.mean(dim=(2, 3)) * self.scale

    def encode_text(self, tokens):
        return torch.nn.functional.one_hot(tokens, 3).float()

    @classmethod
    def tokenizer(cls, texts):
        return torch.tensor([next(i for i, c in enumerate(cls.COLOURS) if c in t) for t in texts])


def test_probes_run_on_a_real_model_handle():
    from clipsafety.models.load import handle_from_model

    handle = handle_from_model(TinyColourClip(), TinyColourClip.tokenizer, name="tiny")
    ctx = ProbeContext(handle=handle, load_model=lambda *a, **k: handle, device=handle.device)
    images = np.concatenate([solid(RED), solid(BLUE)])  # 32 px, resized to 16 by the handle
    zs = create_probe("zero_shot", {"labels": ["red", "blue"]}, ctx).measure(images, ["p", "p"])
    assert zs[0] > 0.5 > zs[1]
    sim = create_probe("similarity", {}, ctx).measure(images, ["a red cross", "a red cross"])
    assert sim[0] > sim[1] and np.all(np.abs(sim) <= 1 + 1e-6)
