"""A cache shared between machines through fsspec, tested on fsspec's in-memory filesystem.

Each `InversionCache` made from the same URL stands for another machine.
"""

from __future__ import annotations

import uuid

import fsspec
import pytest

from clipsafety.cache import InversionCache
from clipsafety.cache.entry import pack, unpack
from clipsafety.cache.store import LocalStore, RemoteStore
from clipsafety.util.errors import ClipSafetyError

from cache_fakes import assert_clear_error, assert_same_result, fake_result, key_of

KEYS = [key_of(prompt, seed) for prompt in ("a red car", "a blue car") for seed in (1, 2, 3)]


def result_for(key):
    return fake_result(key.material.prompt, key.material.seed)


@pytest.fixture
def url():
    """A fresh folder in the process-wide memory filesystem, removed afterwards."""
    root = f"memory://clipsafety-test-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


def stored_files(url: str) -> list[str]:
    fs, root = fsspec.core.url_to_fs(url)
    return sorted(fs.find(root)) if fs.exists(root) else []


def test_a_second_machine_reads_every_entry_and_computes_nothing(url):
    first = InversionCache(url)
    first.check_usable()
    with first.locked(KEYS):
        for key in KEYS:
            first.put(key, result_for(key))
    assert len(stored_files(url)) == len(KEYS)  # the probe left nothing behind

    second = InversionCache(url)
    second.check_usable(KEYS)
    missing = [key for key in KEYS if second.get(key) is None]
    assert missing == [] and second.hits == len(KEYS) and second.corrupt == []
    for key in KEYS:
        assert_same_result(second.get(key), result_for(key))


def test_remote_urls_use_fsspec_and_file_urls_stay_local(url, tmp_path):
    remote = InversionCache(url).store
    assert isinstance(remote, RemoteStore) and remote.one_put
    assert remote.location == url
    assert remote.describe(KEYS[0]).startswith("memory://") and url.split("//")[1] in remote.describe(KEYS[0])
    assert isinstance(InversionCache(f"file://{tmp_path}").store, LocalStore)  # locks work there


def test_a_mismatched_remote_entry_is_removed_and_recomputed(url):
    red, blue = KEYS[0], KEYS[3]
    InversionCache(url).put(red, result_for(red))
    fs = fsspec.filesystem("memory")
    blue_path = InversionCache(url).store.describe(blue)
    fs.pipe_file(blue_path, fs.cat_file(InversionCache(url).store.describe(red)))

    cache = InversionCache(url)
    assert cache.get(blue) is None
    [(path, reason)] = cache.corrupt
    assert path == blue_path and "belongs to another key" in reason
    assert not fs.exists(blue_path)
    cache.put(blue, result_for(blue))
    assert_same_result(InversionCache(url).get(blue), result_for(blue))


def test_a_corrupt_remote_entry_is_removed_and_recomputed(url):
    key = KEYS[0]
    InversionCache(url).put(key, result_for(key))
    fs = fsspec.filesystem("memory")
    path = InversionCache(url).store.describe(key)
    image, record = unpack(fs.cat_file(path))
    record["image"]["sha256"] = "0" * 64
    fs.pipe_file(path, pack(image, record))

    cache = InversionCache(url)
    assert cache.get(key) is None
    assert "does not match its recorded hash" in cache.corrupt[0].reason
    assert stored_files(url) == []


def test_an_interrupted_put_on_an_object_store_leaves_no_entry(url, monkeypatch):
    cache = InversionCache(url)
    fs = cache.store.fs

    def interrupted(path, data, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fs, "pipe_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.put(KEYS[0], result_for(KEYS[0]))
    monkeypatch.undo()
    assert stored_files(url) == []
    assert InversionCache(url).get(KEYS[0]) is None


def test_an_interrupted_move_leaves_no_entry_and_no_temporary(url, monkeypatch):
    """Filesystems without an atomic PUT (sftp, hdfs, ...) write a temporary name and move it."""
    cache = InversionCache(url)
    cache.store = RemoteStore(cache.store.fs, cache.store.root, location=url, one_put=False)
    cache.put(KEYS[0], result_for(KEYS[0]))  # the move path works when nothing goes wrong
    assert_same_result(InversionCache(url).get(KEYS[0]), result_for(KEYS[0]))
    assert len(stored_files(url)) == 1

    written = []

    def interrupted(src, dst, **kwargs):
        written.append(src)
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.store.fs, "mv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.put(KEYS[1], result_for(KEYS[1]))
    monkeypatch.undo()
    assert written and ".tmp-" in written[0]
    assert len(stored_files(url)) == 1  # the first entry only: no second, no temporary
    assert InversionCache(url).get(KEYS[1]) is None


def test_a_remote_cache_that_refuses_writes_is_one_clear_error(url, monkeypatch):
    key = KEYS[0]
    InversionCache(url).put(key, result_for(key))
    cache = InversionCache(url)

    def refused(path, data, **kwargs):
        raise PermissionError(f"write refused: {path}")

    monkeypatch.setattr(cache.store.fs, "pipe_file", refused)
    cache.check_usable([key])  # a complete read-only cache is fine
    with pytest.raises(ClipSafetyError) as err:
        cache.check_usable([key, KEYS[1]])
    assert_clear_error(err.value, cache.location)
    with pytest.raises(ClipSafetyError) as err:
        cache.put(KEYS[1], result_for(KEYS[1]))
    assert_clear_error(err.value, cache.location)


def test_an_unknown_url_scheme_is_a_clear_error():
    with pytest.raises(ClipSafetyError) as err:
        InversionCache("nosuchscheme://bucket/cache")
    text = str(err.value)
    assert text.startswith("nosuchscheme://bucket/cache: the inversion cache URL cannot be opened")
    assert "--clip-no-cache" in text
