"""Compare the markdown tables of two versions of the records cell by cell, ignoring layout.

    python experiments/2026-12-08_records/compare_tables.py [REV]   # REV (default HEAD) vs the tree

Every table row is keyed by its identifying columns (target, model, setting, fold(s), members)
and each other column by its header, so a column added later (e.g. ``val MAE (mean)``), rows in
another order or a model kind under its new name (``feature_mlp`` is ``chgnet_mlp`` now) do not
count as a change; a number that differs, or a row that is gone, does.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from moduli.core.schema import canonical_kind

KEYS = ("target", "model", "setting", "fold", "folds", "members")


def today(column: str, value: str) -> str:
    """A key cell under today's names: a model kind recorded under an old name maps to its new one."""
    if column != "model":
        return value
    name, ensemble, rest = value.partition(" ")
    return canonical_kind(name) + ensemble + rest


def cells(text: str) -> tuple[dict, set]:
    """{(key columns, key values, column): value} and the set of row keys of every table."""
    out, rows = {}, set()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("| ---"):
            header = [c.strip() for c in lines[i].strip("|").split("|")]
            keys = tuple(h for h in header if h in KEYS)
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                values = [c.strip() for c in lines[i].strip("|").split("|")]
                row = dict(zip(header, values))
                key = (keys, tuple(today(k, row[k]) for k in keys))
                rows.add(key)
                for column, value in row.items():
                    if column not in KEYS:
                        out[(*key, column)] = value
                i += 1
        else:
            i += 1
    return out, rows


def main() -> int:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    repo = Path(__file__).resolve().parents[2]
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "experiments"], cwd=repo,
                           capture_output=True, text=True, check=True).stdout.split()
    changed = 0
    for name in sorted(f for f in files if f.endswith(".md") and not f.endswith("README.md")):
        old_text = subprocess.run(["git", "show", f"{rev}:{name}"], cwd=repo, capture_output=True,
                                  text=True, check=True).stdout
        path = repo / name
        if not path.exists():
            print(f"{name}: gone")
            changed += 1
            continue
        old, old_rows = cells(old_text)
        new, new_rows = cells(path.read_text())
        differ = [(k, old[k], new[k]) for k in old if k in new and old[k] != new[k]]
        missing = old_rows - new_rows
        status = "same numbers" if not differ and not missing else "CHANGED"
        print(f"{name}: {len(old)} cells, {len(old_rows)} rows: {status}"
              + ("" if old_text != path.read_text() else " (byte-identical)"))
        for key, a, b in differ[:5]:
            print(f"    {key}: {a} -> {b}")
        for key in sorted(missing)[:5]:
            print(f"    row gone: {key}")
        changed += bool(differ or missing)
    print(f"{changed} of the tables changed")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
