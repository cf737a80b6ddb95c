"""Labelled photo sets: read from a folder in name order, or rendered by a model kind that has its own."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clipsafety.models.photos import has_photos, load_photos, valid_label
from clipsafety.models.providers import ModelProvider, register_model_provider, unregister_model_provider
from clipsafety.util.errors import ClipSafetyError


def write_photos(folder, colours, size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    for i, colour in enumerate(colours):
        Image.new("RGB", size, colour).save(folder / f"{i:03d}.png")


def test_a_folder_is_read_in_name_order_centre_cropped_and_resized(tmp_path):
    write_photos(tmp_path / "man", [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    (tmp_path / "man" / "notes.txt").write_text("not a photo")  # other files are not photos
    photos = load_photos("man", 2, 16, kind="natural", root=str(tmp_path))
    assert photos.images.shape == (2, 16, 16, 3) and photos.images.dtype == np.uint8
    assert photos.names == ("000.png", "001.png")
    assert tuple(photos.images[0, 8, 8]) == (255, 0, 0) and tuple(photos.images[1, 8, 8]) == (0, 255, 0)


@pytest.mark.parametrize("case, where, says", [
    ("no set", "--clip-photos", "is not a folder"),
    ("no label folder", "woman", "has no folder 'woman'"),
    ("too few", "man", "holds 3 photos"),
    ("corrupt", "002.png", "cannot be read as an image"),
])
def test_a_photo_set_that_cannot_be_read_names_the_folder_or_file_and_the_fix(tmp_path, case, where, says):
    write_photos(tmp_path / "man", [(1, 2, 3)] * 3)
    label, count, root = "man", 3, tmp_path
    if case == "no set":
        root = tmp_path / "missing"
    elif case == "no label folder":
        label = "woman"
    elif case == "too few":
        count = 5
    else:
        (tmp_path / "man" / "002.png").write_bytes(b"not a png")
    with pytest.raises(ClipSafetyError) as err:
        load_photos(label, count, 16, kind="natural", root=str(root))
    assert where in str(err.value.where) and says in err.value.message
    assert err.value.fix


def test_a_photo_set_behind_an_fsspec_url_reads_as_the_same_folder_would(tmp_path):
    import fsspec

    write_photos(tmp_path / "man", [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    fs = fsspec.filesystem("memory")
    for path in sorted((tmp_path / "man").iterdir()):
        fs.pipe_file(f"/photo-set-test/man/{path.name}", path.read_bytes())
    fs.pipe_file("/photo-set-test/man/notes.txt", b"not a photo")
    try:
        remote = load_photos("man", 3, 16, kind="natural", root="memory://photo-set-test")
        local = load_photos("man", 3, 16, kind="natural", root=str(tmp_path))
        assert remote.names == local.names and np.array_equal(remote.images, local.images)
        assert remote.source == "memory://photo-set-test/man"
        with pytest.raises(ClipSafetyError) as err:
            load_photos("woman", 3, 16, kind="natural", root="memory://photo-set-test")
        assert err.value.where == "memory://photo-set-test/woman" and "has no folder 'woman'" in err.value.message
    finally:
        fs.rm("/photo-set-test", recursive=True)


def test_a_photo_url_no_filesystem_can_open_says_so_and_how_to_fix_it():
    with pytest.raises(ClipSafetyError) as err:
        load_photos("man", 1, 16, kind="natural", root="nosuchprotocol://bucket/photos")
    assert "cannot be opened" in err.value.message and "s3fs" in err.value.fix


@pytest.mark.parametrize("label", ["", "../man", "man/woman", " man", ".."])
def test_a_label_must_be_one_plain_folder_name(label, tmp_path):
    assert valid_label(label)
    with pytest.raises(ClipSafetyError, match="label"):
        load_photos(label, 1, 16, kind="natural", root=str(tmp_path))
    assert valid_label("man") is None


def test_without_a_folder_a_kind_without_photos_says_how_to_give_them():
    assert not has_photos("natural", None) and has_photos("natural", "photos")
    with pytest.raises(ClipSafetyError) as err:
        load_photos("man", 2, 16, kind="natural")
    assert "no photo set was given" in err.value.message and "--clip-photos" in err.value.fix


def test_a_kind_that_brings_photos_is_used_and_its_shape_checked():
    calls = []

    def photos(label, count, seed, size):
        calls.append((label, count, seed, size))
        return None if label == "cat" else np.full((count, size, size, 3), 7, np.uint8)

    register_model_provider("test-photos", ModelProvider(kind="photo-kind", named_models=dict, photos=photos))
    try:
        assert has_photos("photo-kind", None)
        got = load_photos("man", 3, 8, kind="photo-kind", seed=5)
        assert got.images.shape == (3, 8, 8, 3) and calls[-1] == ("man", 3, 5, 8) and got.source == "photo-kind renders"
        with pytest.raises(ClipSafetyError, match="no photos labelled 'cat'"):
            load_photos("cat", 3, 8, kind="photo-kind")
    finally:
        unregister_model_provider("test-photos")


def test_the_synthetic_world_renders_matched_pairs_that_differ_only_by_gender():
    from clipsafety.synthworld.oracles import gender_of
    from clipsafety.synthworld.photos import world_photos

    men, women = world_photos("man", 6, 0, 48), world_photos("woman", 6, 0, 48)
    assert men.shape == (6, 48, 48, 3) and world_photos("cat", 2, 0, 48) is None
    assert [gender_of(m) for m in men] == ["man"] * 6 and [gender_of(w) for w in women] == ["woman"] * 6
    assert np.array_equal(men, world_photos("man", 6, 0, 48))  # drawn from the seed
    assert not np.array_equal(men, world_photos("man", 6, 1, 48))
    # same figure and background: most pixels agree between the two photos of a pair
    assert (men == women).all(axis=-1).mean() > 0.7
