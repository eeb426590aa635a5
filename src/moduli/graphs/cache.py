"""A disk cache of graph arrays keyed by structure content, one SQLite file per featurisation.

SQLite gives atomic writes (a killed run never leaves a half-written entry) and cheap lookups
for thousands of small graphs in one file.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

GraphArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # z, centers, neighbors, dist


class GraphCache:
    """Maps structure keys to (z, centers, neighbors, distances)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS graphs (key TEXT PRIMARY KEY, z BLOB, "
                       "centers BLOB, neighbors BLOB, dist BLOB)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get_many(self, keys: list[str]) -> dict[str, GraphArrays]:
        found: dict[str, GraphArrays] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = db.execute(f"SELECT * FROM graphs WHERE key IN ({','.join('?' * len(chunk))})",
                                  chunk)
                for key, z, centers, neighbors, dist in rows:
                    found[key] = (np.frombuffer(z, dtype=np.int64), np.frombuffer(centers, np.int64),
                                  np.frombuffer(neighbors, np.int64), np.frombuffer(dist, np.float64))
        return found

    def put_many(self, entries: dict[str, GraphArrays]) -> None:
        rows = [(key, *(np.ascontiguousarray(a, dtype=t).tobytes() for a, t in
                        zip(arrays, (np.int64, np.int64, np.int64, np.float64))))
                for key, arrays in entries.items()]
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO graphs VALUES (?, ?, ?, ?, ?)", rows)
