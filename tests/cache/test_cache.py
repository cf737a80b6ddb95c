"""The inversion cache: entries tied to their keys, checked on read, unusable locations refused up front.

Tiny fake results (numpy images), no model: these run in seconds.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_fakes import assert_clear_error, assert_same_result, fake_result, key_of
from clipsafety.cache import CorruptEntry, InversionCache, _read_entry, image_sha256
from clipsafety.cache.entry import EntryRejected, decode_entry, encode_entry, pack, unpack
from clipsafety.util.errors import ClipSafetyError
from clipsafety.invert import InversionResult
from clipsafety.util.limits import MAX_IMAGE_SIDE


def entry_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "locks" not in p.parts)


def rewrite_record(path: Path, change) -> None:
    """Edit an entry's JSON record in place (the image stays)."""
    image, record = unpack(path.read_bytes())
    change(record)
    path.write_bytes(pack(image, record))


# -- entries round-trip ----------------------------------------------------------


def test_an_entry_round_trips_every_field(tmp_path):
    writer = InversionCache(tmp_path)
    result = fake_result()
    writer.put(key_of(), result)

    reader = InversionCache(tmp_path)
    assert_same_result(reader.get(key_of()), result)
    assert reader.hits == 1 and reader.corrupt == []
    assert reader.get(key_of(seed=2)) is None


def test_a_field_the_entry_predates_loads_with_its_default(tmp_path):
    InversionCache(tmp_path).put(key_of(), fake_result())
    [path] = entry_files(tmp_path)
    rewrite_record(path, lambda r: [r["result"].pop("steps"), r["result"].pop("passes")])

    got = InversionCache(tmp_path).get(key_of())
    assert (got.steps, got.passes) == (0, 0)
    assert got.similarity == 0.25


def test_a_result_without_a_required_field_is_corrupt(tmp_path):
    InversionCache(tmp_path).put(key_of(), fake_result())
    [path] = entry_files(tmp_path)
    rewrite_record(path, lambda r: r["result"].pop("similarity"))

    cache = InversionCache(tmp_path)
    assert cache.get(key_of()) is None
    assert "similarity" in cache.corrupt[0].reason


def test_failed_results_are_kept_for_the_run_but_never_written(tmp_path):
    cache = InversionCache(tmp_path)
    failed = dataclasses.replace(fake_result(), image=None, error="loss became nan")
    cache.put(key_of(), failed)
    assert cache.get(key_of()) is failed
    assert entry_files(tmp_path) == []
    assert InversionCache(tmp_path).get(key_of()) is None


def test_put_refuses_a_result_for_another_prompt_and_a_bare_digest(tmp_path):
    cache = InversionCache(tmp_path)
    with pytest.raises(ValueError, match="a blue car"):
        cache.put(key_of(), fake_result(prompt="a blue car"))
    with pytest.raises(TypeError, match="EntryKey"):
        cache.put(str(key_of()), fake_result())
    assert entry_files(tmp_path) == []


def test_an_entry_key_is_its_digest_and_pickles_with_its_material():
    key = key_of(input_size=32)
    assert key == str(key) and len(key) == 64 and {key: 1}[str(key)] == 1
    assert key_of() == key  # the expected shape is not part of the name
    again = pickle.loads(pickle.dumps(key))
    assert again == key and again.material == key.material and again.image_shape == key.image_shape


# -- an entry is tied to its key -------------------------------------------------


@pytest.mark.parametrize("bare_digest", [False, True], ids=["entry-key", "bare-digest"])
def test_an_entry_copied_over_another_keys_file_is_recomputed(tmp_path, bare_digest):
    red, blue = key_of("a red car", 1), key_of("a blue car", 2)
    InversionCache(tmp_path).put(red, fake_result("a red car", 1))
    InversionCache(tmp_path).put(blue, fake_result("a blue car", 2))
    red_path, blue_path = (tmp_path / k[:2] / f"{k}.npz" for k in (red, blue))
    blue_path.write_bytes(red_path.read_bytes())

    cache = InversionCache(tmp_path)
    assert cache.get(str(blue) if bare_digest else blue) is None
    assert not blue_path.exists() and red_path.exists()
    [(path, reason)] = cache.corrupt
    assert path == str(blue_path) and "belongs to another key" in reason
    if not bare_digest:
        assert "prompt 'a red car' instead of 'a blue car'" in reason and "seed 1 instead of 2" in reason
    assert cache.get(red).prompt == "a red car"  # the original is untouched


def test_an_entry_of_another_model_or_code_version_is_recomputed(tmp_path):
    key = key_of()
    InversionCache(tmp_path).put(key, fake_result())
    [path] = entry_files(tmp_path)
    original = path.read_bytes()
    for field, value in [("fingerprint", "other-model"), ("code_version", "0"), ("settings_key", "abc")]:
        path.write_bytes(original)
        rewrite_record(path, lambda r: r["material"].__setitem__(field, value))
        cache = InversionCache(tmp_path)
        assert cache.get(key) is None
        assert f"{field} {value!r} instead of" in cache.corrupt[0].reason
        assert not path.exists()


@pytest.mark.parametrize("side", [MAX_IMAGE_SIDE + 1, 2 * MAX_IMAGE_SIDE])
def test_an_oversized_image_with_a_consistent_record_is_recomputed(tmp_path, side):
    """An oversized entry (4096x4096) is recomputed and replaced, not raised from np.stack on every run."""
    key = key_of()
    InversionCache(tmp_path).put(key, fake_result())
    [path] = entry_files(tmp_path)
    big = np.zeros((side, side, 3), dtype=np.uint8)
    _, record = unpack(path.read_bytes())
    record["image"] = {"shape": [side, side, 3], "sha256": image_sha256(big)}
    path.write_bytes(pack(big, record))

    cache = InversionCache(tmp_path)
    assert cache.get(key) is None
    assert "MAX_IMAGE_SIDE" in cache.corrupt[0].reason and str(MAX_IMAGE_SIDE) in cache.corrupt[0].reason
    assert not path.exists()


def test_an_image_of_another_shape_than_the_settings_give_is_recomputed(tmp_path):
    # toy settings start at init_size and double up to the model's input size
    key = key_of(input_size=32)
    side = key.image_shape[0]
    InversionCache(tmp_path).put(key, fake_result(side=side))
    assert InversionCache(tmp_path).get(key).image.shape == (side, side, 3)

    InversionCache(tmp_path).put(key, fake_result(side=side // 2))
    cache = InversionCache(tmp_path)
    assert cache.get(key) is None
    assert f"holds a {side // 2}x{side // 2} image, but its settings give {side}x{side}" in cache.corrupt[0].reason


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pixel", "old-format", "pickle"])
def test_damaged_entries_are_removed_and_reported(tmp_path, damage):
    key = key_of()
    InversionCache(tmp_path).put(key, fake_result())
    [path] = entry_files(tmp_path)
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"garbage")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "pixel":
        image, record = unpack(data)
        image = image.copy()
        image[1, 1, 1] ^= 1
        path.write_bytes(pack(image, record))
    elif damage == "old-format":  # what the first cache wrote: no key material
        image, record = unpack(data)
        path.write_bytes(pack(image, {**record["result"], "image_sha256": image_sha256(image)}))
    else:
        buffer = io.BytesIO()
        np.savez(buffer, image=np.array([object()], dtype=object), record=np.zeros(1, np.uint8))
        path.write_bytes(buffer.getvalue())

    cache = InversionCache(tmp_path)
    assert cache.get(key) is None
    [corrupt] = cache.corrupt
    assert isinstance(corrupt, CorruptEntry) and corrupt.path == str(path)
    assert corrupt.warning.startswith(f"clipsafety: cache entry {path} ") and "\n" not in corrupt.warning
    assert not path.exists()
    cache.put(key, fake_result())  # recomputed, and the fresh entry reads back
    assert_same_result(InversionCache(tmp_path).get(key), fake_result())


def test_a_sound_entry_is_not_reported(tmp_path):
    InversionCache(tmp_path).put(key_of(), fake_result())
    cache = InversionCache(tmp_path)
    assert cache.get(key_of()) is not None and cache.corrupt == []
    assert _read_entry(entry_files(tmp_path)[0]).prompt == "a red car"


def test_malformed_key_material_is_corrupt_not_a_traceback(tmp_path):
    InversionCache(tmp_path).put(key_of(), fake_result())
    [path] = entry_files(tmp_path)
    rewrite_record(path, lambda r: r["material"].__setitem__("seed", "zz"))
    cache = InversionCache(tmp_path)
    assert cache.get(key_of()) is None and "malformed key material" in cache.corrupt[0].reason


# -- atomic writes -------------------------------------------------------------------


def test_an_interrupted_local_write_leaves_no_entry_and_no_temporary_file(tmp_path, monkeypatch):
    cache = InversionCache(tmp_path)
    cache.check_usable()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr("clipsafety.util.files.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.put(key_of(), fake_result())
    assert entry_files(tmp_path) == []
    assert InversionCache(tmp_path).get(key_of()) is None


def test_file_url_and_plain_path_share_entries_and_locks(tmp_path):
    url = f"file://{tmp_path}/shared"
    cache = InversionCache(url)
    cache.check_usable()
    with cache.locked([key_of()]):
        assert (tmp_path / "shared" / "locks" / f"{key_of()}.lock").exists()
        cache.put(key_of(), fake_result())
    assert_same_result(InversionCache(tmp_path / "shared").get(key_of()), fake_result())
    assert_same_result(InversionCache(url).get(key_of()), fake_result())


# -- an unusable location is one clear error at the start ------------------------


def test_a_file_where_the_cache_folder_should_be(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(ClipSafetyError) as err:
        InversionCache(tmp_path / "cache").check_usable()
    assert_clear_error(err.value, tmp_path / "cache")
    assert "is a file, not a folder" in str(err.value)


def test_a_cache_under_a_file(tmp_path):
    (tmp_path / "parent").write_text("a file")
    with pytest.raises(ClipSafetyError) as err:
        InversionCache(tmp_path / "parent" / "cache").check_usable()
    assert_clear_error(err.value, tmp_path / "parent" / "cache")


def test_a_usable_cache_passes_the_check_and_leaves_no_trace(tmp_path):
    InversionCache(tmp_path / "new" / "cache").check_usable()
    assert entry_files(tmp_path) == []
    assert list((tmp_path / "new" / "cache" / "locks").iterdir()) == []
    InversionCache(None).check_usable()  # --clip-no-cache: nothing to check


def deny_writes(monkeypatch, tmp_path):
    """What a read-only folder does to a non-root user (tests often run as root, which writes anyway)."""
    real_write_bytes = Path.write_bytes

    def write_bytes(self, data):
        if str(self).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", str(self))
        return real_write_bytes(self, data)

    def replace(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr("clipsafety.util.files.os.replace", replace)


def test_a_read_only_cache_missing_an_entry_is_refused_at_the_start(tmp_path, monkeypatch):
    present, absent = key_of(seed=1), key_of(seed=2)
    InversionCache(tmp_path).put(present, fake_result(seed=1))
    deny_writes(monkeypatch, tmp_path)

    cache = InversionCache(tmp_path)
    with pytest.raises(ClipSafetyError) as err:
        cache.check_usable([present, absent])
    assert_clear_error(err.value, tmp_path)
    assert "lacks 1 of the 2 entries" in str(err.value) and "PermissionError" in str(err.value)
    with pytest.raises(ClipSafetyError):
        cache.check_usable()  # without the plan, an unwritable cache is refused

    complete = InversionCache(tmp_path)
    complete.check_usable([present])  # everything this run needs is there: reading is enough
    assert complete.hits == 1


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_really_read_only_folder_is_refused(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        with pytest.raises(ClipSafetyError) as err:
            InversionCache(tmp_path / "ro" / "cache").check_usable()
        assert_clear_error(err.value, tmp_path / "ro" / "cache")
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_a_cache_that_breaks_mid_run_gives_the_same_clear_error(tmp_path):
    root = tmp_path / "cache"
    cache = InversionCache(root)
    cache.check_usable()
    os.rmdir(root / "locks")
    root.rmdir()
    root.write_text("replaced by a file")  # was: NotADirectoryError after inverting

    with pytest.raises(ClipSafetyError) as err:
        with cache.locked([key_of()]):
            pass
    assert_clear_error(err.value, root)
    with pytest.raises(ClipSafetyError) as err:
        cache.put(key_of(), fake_result())
    assert_clear_error(err.value, root)
    assert cache.get(key_of()) is not None  # this run keeps what it computed


def test_a_read_only_cache_mid_run_gives_the_same_clear_error(tmp_path, monkeypatch):
    cache = InversionCache(tmp_path)
    cache.check_usable()
    deny_writes(monkeypatch, tmp_path)
    with pytest.raises(ClipSafetyError) as err:
        cache.put(key_of(), fake_result())
    assert_clear_error(err.value, tmp_path)
    assert "PermissionError" in str(err.value)


def test_the_module_documents_the_policy():
    import clipsafety.cache

    doc = clipsafety.cache.__doc__
    assert "check_usable()" in doc and "--clip-no-cache" in doc and "harmless" in doc


def test_records_are_json_with_the_key_material(tmp_path):
    InversionCache(tmp_path).put(key_of(), fake_result())
    _, record = unpack(entry_files(tmp_path)[0].read_bytes())
    assert record["material"] == dataclasses.asdict(key_of().material)
    assert record["image"]["shape"] == [8, 8, 3]
    assert json.loads(json.dumps(record)) == record


SOUND = encode_entry(key_of(), fake_result())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SOUND) - 1), st.integers(1, 255)), min_size=1, max_size=4),
       st.integers(0, len(SOUND)))
def test_a_damaged_entry_is_refused_or_reads_back_exactly(flips, keep):
    """Any damage gives one rejection reason or the very same result, never a traceback."""
    data = bytearray(SOUND[:keep])
    for position, mask in flips:
        if position < len(data):
            data[position] ^= mask
    try:
        result = decode_entry(bytes(data), key_of())
    except EntryRejected as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert_same_result(result, fake_result())


def test_the_key_names_how_the_image_was_computed():
    """A bf16 GPU image is never served to an fp32 CPU run: precision, device type and torch version are key
    material, written into the entry and checked on read."""
    from clipsafety.models.testing import tiny_handle

    fp32 = key_of(compute="fp32 cpu torch 2.14.1")
    assert key_of(compute="bf16 cuda torch 2.14.1") != fp32 != key_of(compute="fp32 cpu torch 2.15.0")
    assert fp32 == key_of(compute="fp32 cpu torch 2.14.1") and fp32.material.compute == "fp32 cpu torch 2.14.1"
    handle = tiny_handle()
    assert handle.compute.startswith("fp32 cpu torch ")
