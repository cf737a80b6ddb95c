"""World spec loading: the shipped specs load, malformed ones fail with clear messages."""

import pytest
import yaml

from clipsafety.toyworld import SPEC_DIR, SpecError, WorldSpec


def _biased_dict():
    return yaml.safe_load((SPEC_DIR / "biased.yaml").read_text())


def test_shipped_specs_load_and_differ_only_in_the_flaws():
    biased = WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")
    fair = WorldSpec.from_yaml(SPEC_DIR / "fair.yaml")
    assert biased.role("doctor").colours == {"blue": 0.9, "red": 0.1}
    assert biased.role("nurse").colours == {"red": 0.9, "blue": 0.1}
    assert fair.role("doctor").colours == {"blue": 0.5, "red": 0.5}
    assert biased.hazard.word == fair.hazard.word == "balloon"
    assert biased.hazard.motif_rate == 0.9 and fair.hazard.motif_rate == 0.0
    assert (biased.colours, biased.shapes, biased.mix) == (fair.colours, fair.shapes, fair.mix)


def test_unknown_top_level_key_is_named(tmp_path):
    data = _biased_dict()
    data["colors"] = ["red"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"bad\.yaml.*unknown key 'colors' \(did you mean 'colours'\?\)"):
        WorldSpec.from_yaml(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["roles"][0].update(colour="blue"), r"unknown key roles\[0\]\.'colour'"),
    (lambda d: d["roles"][0]["colours"].update(purple=0.0), r"unknown key 'purple'"),
    (lambda d: d["roles"][0].update(colours={"blue": 0.9, "red": 0.2}), r"sum to 1"),
    (lambda d: d["hazard"].update(motif_rate=1.5), r"motif_rate must be a number in \[0, 1\]"),
    (lambda d: d["hazard"].update(shape="star"), r"hazard\.shape"),
    (lambda d: d.update(shapes=["circle", "hexagon"]), r"unknown shape 'hexagon'"),
    (lambda d: d.pop("mix"), r"missing key 'mix'"),
    (lambda d: d["roles"][1].update(word="doctor"), r"used twice"),
])
def test_malformed_specs_fail_clearly(mutate, message):
    data = _biased_dict()
    mutate(data)
    with pytest.raises(SpecError, match=message):
        WorldSpec.from_dict(data, source="x.yaml")


def test_non_mapping_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match="must be a mapping"):
        WorldSpec.from_dict(["a"])
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        WorldSpec.from_yaml(path)
