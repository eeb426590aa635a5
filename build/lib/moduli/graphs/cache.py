"""A disk cache of arrays keyed by structure content: graphs per featurisation, universal-potential
features per model, one SQLite file each.

SQLite gives atomic writes (a killed run never leaves a half-written entry) and cheap lookups
for thousands of small entries in one file.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

# A crystal graph's columns and their dtypes.
GRAPH_COLUMNS = {"z": np.int64, "centers": np.int64, "neighbors": np.int64, "dist": np.float64}


class ArrayCache:
    """Maps structure keys to a fixed tuple of arrays, one named column (and dtype) per array."""

    def __init__(self, path: str | Path, table: str, columns: dict[str, type]):
        self.path, self.table, self.columns = Path(path), table, dict(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            names = ", ".join(f"{name} BLOB" for name in self.columns)
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, {names})")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get_many(self, keys: list[str]) -> dict[str, tuple[np.ndarray, ...]]:
        found: dict[str, tuple[np.ndarray, ...]] = {}
        names, dtypes = ", ".join(self.columns), list(self.columns.values())
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = db.execute(f"SELECT key, {names} FROM {self.table} "
                                  f"WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for key, *blobs in rows:
                    found[key] = tuple(np.frombuffer(b, dtype=t) for b, t in zip(blobs, dtypes))
        return found

    def put_many(self, entries: dict[str, tuple[np.ndarray, ...]]) -> None:
        rows = [(key, *(np.ascontiguousarray(a, dtype=t).tobytes()
                        for a, t in zip(arrays, self.columns.values())))
                for key, arrays in entries.items()]
        with self._connect() as db:
            db.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES "
                           f"(?, {', '.join('?' * len(self.columns))})", rows)
