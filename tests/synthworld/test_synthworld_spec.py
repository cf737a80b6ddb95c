"""World specs: the shipped ones plant what they say, malformed ones fail naming the file and key."""

import pytest
import yaml

from clipsafety.synthworld import SPEC_DIR, WORDS, SpecError, WorldSpec, random_spec
from clipsafety.synthworld.spec import RANDOM_RATES


def _biased_dict():
    return yaml.safe_load((SPEC_DIR / "biased.yaml").read_text())


def test_shipped_specs_plant_the_documented_rates():
    biased = WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")
    fair = WorldSpec.from_yaml(SPEC_DIR / "fair.yaml")
    assert biased.planted() == {"doctor": 0.9, "nurse": 0.1, "engineer": 0.75, "housekeeper": 0.25, "strong": 0.75}
    assert all(biased.man_rate(w) == 0.5 for w in ("teacher", "ceo", "emotional", "intelligent"))
    assert fair.planted() == {} and set(fair.words) == set(WORDS)
    assert (biased.mix, biased.gendered_captions, biased.image_size) == (fair.mix, fair.gendered_captions, 48)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(colour="blue"), r"unknown key 'colour'"),
    (lambda d: d.update(mixx={}), r"unknown key 'mixx' \(did you mean 'mix'\?\)"),
    (lambda d: d["words"].update(docter={"man": 0.5, "woman": 0.5}),
     r"unknown word 'docter' \(did you mean 'doctor'\?\)"),
    (lambda d: d["words"].pop("nurse"), r"words: missing word 'nurse'"),
    (lambda d: d["words"].update(doctor={"man": 0.9, "woman": 0.2}), r"words\.doctor: probabilities must sum to 1"),
    (lambda d: d["words"].update(doctor={"man": 1.0}), r"words\.doctor: missing key 'woman'"),
    (lambda d: d["words"].update(doctor={"man": 0.5, "women": 0.5}), r"words\.doctor: unknown key 'women'"),
    (lambda d: d["words"].update(doctor={"man": "most", "woman": 0.1}), r"words\.doctor\.man must be a number"),
    (lambda d: d["mix"].update(scene=0.5), r"mix: probabilities must sum to 1"),
    (lambda d: d["mix"].update(hazard=0.0), r"mix: unknown key 'hazard'"),
    (lambda d: d.update(gendered_captions=1.5), r"gendered_captions must be a number in \[0, 1\]"),
    (lambda d: d.update(image_size=40), r"image_size must be one of \[32, 48, 64\]"),
    (lambda d: d.update(name="my world"), r"name must be letters"),
    (lambda d: d.pop("words"), r"missing key 'words'"),
    (lambda d: d.update(words=["doctor"]), r"words must be a mapping"),
])
def test_malformed_specs_name_the_file_and_key(mutate, message):
    data = _biased_dict()
    mutate(data)
    with pytest.raises(SpecError, match=r"^x\.yaml: .*" + message):
        WorldSpec.from_dict(data, source="x.yaml")


def test_unreadable_and_non_mapping_specs(tmp_path):
    with pytest.raises(SpecError, match="must be a mapping"):
        WorldSpec.from_dict(["doctor"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match=r"broken\.yaml: not valid YAML"):
        WorldSpec.from_yaml(broken)
    with pytest.raises(SpecError, match=r"missing\.yaml: cannot read the world spec"):
        WorldSpec.from_yaml(tmp_path / "missing.yaml")
    python_tag = tmp_path / "tagged.yaml"
    python_tag.write_text("name: !!python/object/apply:os.getcwd []\nwords: {}\n")
    with pytest.raises(SpecError, match="not valid YAML"):  # safe_load refuses Python tags
        WorldSpec.from_yaml(python_tag)


def test_random_specs_are_drawn_from_the_seed():
    first, again, other = random_spec(7), random_spec(7), random_spec(8)
    assert first == again and first != other
    assert first.name == "random-7" and set(first.words) == set(WORDS)
    shares = set()
    for seed in range(40):
        for word, rate in random_spec(seed).words.items():
            assert rate["man"] + rate["woman"] == pytest.approx(1)
            assert min(rate["man"], rate["woman"]) in {round(1 - r, 6) for r in RANDOM_RATES}
            shares.add(rate["man"])
    # every rate of the set appears, leaning either way, and unplanted words stay 50/50
    assert shares == {0.5, 0.6, 0.4, 0.75, 0.25, 0.9, 0.1}
    assert len({len(random_spec(seed).planted()) for seed in range(40)}) > 2  # which words are planted varies


def test_a_random_spec_round_trips_through_yaml():
    spec = random_spec(3, gendered_captions=0.2)
    back = WorldSpec.from_dict(yaml.safe_load(spec.to_yaml()), source="back.yaml")
    assert back == spec and back.gendered_captions == 0.2
    assert "drawn by random_spec(3)" in back.description
