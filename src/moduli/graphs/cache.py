"""A disk cache of arrays keyed by structure content: graphs per featurisation, universal-potential
features per model, one SQLite file each (the file name carries the featuriser's version).

SQLite gives atomic writes (a killed run never leaves a half-written entry) and cheap lookups
for thousands of small entries in one file. Every entry carries a checksum of its arrays' sizes
and bytes: an entry that fails it, or holds a non-finite number (a damaged disk, a file edited by
hand, an entry written before checksums), is dropped and recomputed with a warning naming the
file, never used. A cache that cannot
be written (a read-only or full folder) is found when it is opened, or when a write fails; the
run then keeps its entries in memory, with one warning.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# A crystal graph's columns and their dtypes.
GRAPH_COLUMNS = {"z": np.int64, "centers": np.int64, "neighbors": np.int64, "dist": np.float64}
MIN_FREE_BYTES = 64 << 20  # below this much free space the cache is treated as full


def checksum(blobs: list[bytes]) -> str:
    """sha256 over each array's byte length and bytes."""
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(len(blob).to_bytes(8, "little"))
        digest.update(blob)
    return digest.hexdigest()


class ArrayCache:
    """Maps structure keys to a fixed tuple of arrays, one named column (and dtype) per array."""

    def __init__(self, path: str | Path, table: str, columns: dict[str, type]):
        self.path, self.table, self.columns = Path(path), table, dict(columns)
        self.memory: dict[str, tuple[np.ndarray, ...]] | None = None  # set when the disk cannot be used
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if shutil.disk_usage(self.path.parent).free < MIN_FREE_BYTES:
                raise OSError(f"less than {MIN_FREE_BYTES >> 20} MB free")
            with self._connect() as db:
                names = ", ".join(f"{name} BLOB" for name in self.columns)
                db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, {names}, checksum TEXT)")
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if "checksum" not in have:  # a cache written before entries carried checksums
                    db.execute(f"ALTER TABLE {table} ADD COLUMN checksum TEXT")
                db.execute(f"DELETE FROM {table} WHERE key = ''")  # a write probe
        except (OSError, sqlite3.Error) as err:
            self._to_memory(err)

    def _to_memory(self, err: Exception) -> None:
        if self.memory is None:
            log.warning("feature cache %s cannot be written (%s: %s): this run keeps its entries in "
                        "memory", self.path, type(err).__name__, err)
            self.memory = {}

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get_many(self, keys: list[str]) -> dict[str, tuple[np.ndarray, ...]]:
        if self.memory is not None:
            disk = self._read(keys) if self.path.is_file() else {}
            return {**disk, **{k: self.memory[k] for k in keys if k in self.memory}}
        return self._read(keys)

    def _read(self, keys: list[str]) -> dict[str, tuple[np.ndarray, ...]]:
        found: dict[str, tuple[np.ndarray, ...]] = {}
        failed: list[str] = []
        names, dtypes = ", ".join(self.columns), list(self.columns.values())
        try:
            with self._connect() as db:
                for start in range(0, len(keys), 500):
                    chunk = keys[start:start + 500]
                    rows = db.execute(f"SELECT key, {names}, checksum FROM {self.table} "
                                      f"WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                    for key, *blobs, stored in rows:
                        arrays = self._arrays(blobs, stored, dtypes)
                        if arrays is None:
                            failed.append(key)
                        else:
                            found[key] = arrays
        except sqlite3.DatabaseError as err:
            log.warning("feature cache %s is unreadable (%s): its entries are recomputed", self.path, err)
            return {}
        if failed:
            log.warning("%d entries of the feature cache %s failed their checksum (%s): recomputed, "
                        "not used", len(failed), self.path, ", ".join(failed[:3]))
            self._drop(failed)
        return found

    @staticmethod
    def _arrays(blobs: list, stored: str | None, dtypes: list[type]) -> tuple[np.ndarray, ...] | None:
        if stored is None or any(not isinstance(b, bytes) for b in blobs) or checksum(blobs) != stored:
            return None
        try:
            arrays = tuple(np.frombuffer(b, dtype=t) for b, t in zip(blobs, dtypes))
        except ValueError:  # a length that is no multiple of the item size
            return None
        finite = all(np.all(np.isfinite(a)) for a in arrays if a.dtype.kind == "f")
        return arrays if finite else None

    def _drop(self, keys: list[str]) -> None:
        if self.memory is not None:
            return
        try:
            with self._connect() as db:
                db.executemany(f"DELETE FROM {self.table} WHERE key = ?", [(k,) for k in keys])
        except sqlite3.Error as err:
            self._to_memory(err)

    def put_many(self, entries: dict[str, tuple[np.ndarray, ...]]) -> None:
        if self.memory is None:
            rows = []
            for key, arrays in entries.items():
                blobs = [np.ascontiguousarray(a, dtype=t).tobytes() for a, t in zip(arrays, self.columns.values())]
                rows.append((key, *blobs, checksum(blobs)))
            try:
                with self._connect() as db:
                    db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES "
                                   f"(?, {', '.join('?' * len(self.columns))}, ?)", rows)
                return
            except (OSError, sqlite3.Error) as err:  # disk full, or the folder went read-only
                self._to_memory(err)
        self.memory.update({k: tuple(np.asarray(a, dtype=t) for a, t in zip(arrays, self.columns.values()))
                            for k, arrays in entries.items()})
