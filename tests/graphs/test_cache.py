"""The array cache verifies itself: a damaged entry is recomputed, never used; a cache that
cannot be written makes the run keep its entries in memory, with one warning."""
import sqlite3

import numpy as np
import pytest

from moduli.graphs.cache import ArrayCache

COLUMNS = {"features": np.float32}


def entries():
    return {"a": (np.arange(4, dtype=np.float32),), "b": (np.ones(4, dtype=np.float32),)}


def test_entries_round_trip_with_their_checksums(tmp_path):
    cache = ArrayCache(tmp_path / "c.sqlite", "features", COLUMNS)
    cache.put_many(entries())
    found = ArrayCache(tmp_path / "c.sqlite", "features", COLUMNS).get_many(["a", "b", "c"])
    assert sorted(found) == ["a", "b"] and np.array_equal(found["a"][0], entries()["a"][0])


@pytest.mark.parametrize("damage", [
    "UPDATE features SET features = ? WHERE key = 'a'",      # bytes changed on disk
    "UPDATE features SET checksum = NULL WHERE key = 'a'",   # an entry with no checksum
])
def test_a_damaged_entry_is_dropped_with_a_warning_naming_the_file(tmp_path, caplog, damage):
    path = tmp_path / "c.sqlite"
    cache = ArrayCache(path, "features", COLUMNS)
    cache.put_many(entries())
    with sqlite3.connect(path) as db:
        db.execute(damage, (np.full(4, 7, dtype=np.float32).tobytes(),) if "?" in damage else ())
    with caplog.at_level("WARNING"):
        found = cache.get_many(["a", "b"])
    assert sorted(found) == ["b"]
    assert any("1 entries of the feature cache" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)
    assert cache.get_many(["a"]) == {}  # dropped from the file, to be recomputed


def test_a_non_finite_entry_is_not_used(tmp_path):
    cache = ArrayCache(tmp_path / "c.sqlite", "features", COLUMNS)
    cache.put_many({"nan": (np.array([1.0, np.nan], dtype=np.float32),)})
    assert cache.get_many(["nan"]) == {}


def test_a_full_cache_folder_is_found_at_start_and_entries_stay_in_memory(tmp_path, caplog, monkeypatch):
    import shutil
    from collections import namedtuple

    path = tmp_path / "c.sqlite"
    ArrayCache(path, "features", COLUMNS).put_many({"a": entries()["a"]})
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10 << 30, 10 << 30, 1 << 20))
    with caplog.at_level("WARNING"):
        cache = ArrayCache(path, "features", COLUMNS)
    assert sum("cannot be written" in r.getMessage() and "free" in r.getMessage() for r in caplog.records) == 1
    cache.put_many({"b": entries()["b"]})
    assert sorted(cache.get_many(["a", "b"])) == ["a", "b"]  # "a" from the file, "b" from memory
    assert sorted(ArrayCache(path, "features", COLUMNS).get_many(["a", "b"])) == ["a"]


def test_a_cache_folder_that_cannot_be_made_keeps_entries_in_memory(tmp_path, caplog):
    (tmp_path / "file").write_text("a file where the cache folder should be")
    with caplog.at_level("WARNING"):
        cache = ArrayCache(tmp_path / "file" / "c.sqlite", "features", COLUMNS)
    assert cache.memory is not None and "cannot be written" in caplog.text
    cache.put_many(entries())
    assert sorted(cache.get_many(["a", "b"])) == ["a", "b"]


def test_a_write_that_fails_switches_to_memory(tmp_path, caplog, monkeypatch):
    cache = ArrayCache(tmp_path / "c.sqlite", "features", COLUMNS)

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(cache, "_connect", full)
    with caplog.at_level("WARNING"):
        cache.put_many(entries())
    assert cache.memory is not None and "disk is full" in caplog.text
    monkeypatch.undo()
    assert sorted(cache.get_many(["a", "b"])) == ["a", "b"]
