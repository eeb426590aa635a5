"""What decides a prediction run's rows, recorded in its run dir, so a rerun resumes only what is
still true.

Two records: ``fingerprint.json`` (the models' sha256, the screen, the corpus settings and the
corpus file's size, time and content hash, the settings that change rows, the package version),
written before the first chunk and compared on every rerun before any file is touched; and per
chunk a digest of its inputs (sequence numbers, ids and what each payload points to, with file
sizes and times) kept in the chunk's marker, compared when the chunk would be skipped. A rerun
whose settings or inputs differ stops with one line saying what changed; it never mixes rows of
two corpora.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from moduli.core.atomic import atomic_write
from moduli.core.errors import UserInputError

FINGERPRINT = "fingerprint.json"
FRESH_START = "start afresh in a new run dir, or discard this one (--overwrite, resume=false)"


def file_stamp(path: str | Path, content: bool = False) -> dict[str, Any]:
    """Size and modification time of a file (and the sha256 of its bytes with ``content``)."""
    stat = os.stat(path)
    stamp: dict[str, Any] = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if content:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        stamp["sha256"] = digest.hexdigest()
    return stamp


def run_fingerprint(cfg: DictConfig, models: dict[str, list[dict[str, Any]]],
                    screen: dict[str, Any]) -> dict[str, Any]:
    """The record of what decides this run's rows."""
    corpus = OmegaConf.to_container(cfg.corpus, resolve=True)
    files = [v for k, v in corpus.items() if k in ("path", "summary_csv", "zip_path", "cache_path")
             and isinstance(v, str) and Path(v).is_file()]
    return {"moduli": version("moduli"), "models": models, "screen": screen, "corpus": corpus,
            "corpus_files": [file_stamp(f, content=True) for f in files],
            "settings": {"chunk_size": cfg.chunk_size, "symprec": cfg.symprec}}


def compare_fingerprint(out: Path, fingerprint: dict[str, Any]) -> bool:
    """Whether ``out`` holds a run of this fingerprint to resume (False: none recorded yet). A
    record that differs, or chunks with no record, is a :class:`UserInputError` naming what
    changed; nothing is written either way."""
    path = out / FINGERPRINT
    if not path.is_file():
        if any(out.glob("shards/*.done.json")):
            raise UserInputError(f"{out} holds chunks of a run with no fingerprint (an older moduli): "
                                 f"{FRESH_START}")
        return False
    recorded = json.loads(path.read_text())
    changed = [key for key in sorted(set(recorded) | set(fingerprint))
               if recorded.get(key) != fingerprint.get(key)]
    if changed:
        raise UserInputError(f"{out} holds a run of other {_what(changed, recorded, fingerprint)}: "
                             f"{FRESH_START}")
    return True


def record_fingerprint(out: Path, fingerprint: dict[str, Any]) -> None:
    atomic_write(out / FINGERPRINT, lambda tmp: Path(tmp).write_text(json.dumps(fingerprint, indent=2)))


# Everything a prediction run writes into its dir (the lock aside): what resume=false discards.
RUN_FILES = (FINGERPRINT, "shards", "predictions.parquet", "predictions.csv", "rejected.csv",
             "screening.json", "figures")


def discard_run(out: Path) -> None:
    """Remove an earlier run's files from ``out``, so the next run starts afresh."""
    import shutil

    for name in RUN_FILES:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _what(changed: list[str], recorded: dict[str, Any], now: dict[str, Any]) -> str:
    words = {"models": "models", "screen": "screen rules", "corpus": "corpus settings",
             "corpus_files": "corpus file contents", "settings": "chunk size or symprec",
             "moduli": "moduli version"}
    parts = []
    for key in changed:
        if key == "corpus_files":
            was = {s["path"]: s for s in recorded.get(key, [])}
            paths = [s["path"] for s in now.get(key, []) if was.get(s["path"]) != s]
            parts.append(f"corpus file contents ({', '.join(paths) or 'files'} changed since the run began)")
        elif key == "moduli":
            parts.append(f"moduli version ({recorded.get(key)} -> {now.get(key)})")
        else:
            parts.append(words.get(key, key))
    return "; ".join(parts)


def payload_digest(payload: tuple) -> str:
    """What a payload points to, for the chunk digest: file size and time where it is a file,
    the text or data itself otherwise."""
    kind = payload[0]
    if kind == "file":
        try:
            stat = os.stat(payload[1])
            return f"file:{payload[1]}:{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            return f"file:{payload[1]}:missing"
    if kind == "zip":
        return f"zip:{payload[2]}"  # the archive itself is in the fingerprint's corpus files
    if kind == "atoms":
        atoms = payload[1]
        return "atoms:" + hashlib.sha256(atoms.numbers.tobytes() + atoms.positions.tobytes()
                                         + atoms.cell.array.tobytes()).hexdigest()
    if kind == "dict":
        return "dict:" + json.dumps(payload[1], sort_keys=True, default=str)
    return f"{kind}:" + "\x1f".join(str(p) for p in payload[1:])


def chunk_digest(chunk: list[tuple[int, Any]]) -> str:
    """One sha256 over a chunk's inputs: sequence numbers, ids, metadata and payloads."""
    digest = hashlib.sha256()
    for seq, entry in chunk:
        digest.update(f"{seq}\x1e{entry.id}\x1e{json.dumps(entry.metadata, sort_keys=True, default=str)}"
                      f"\x1e{payload_digest(entry.payload)}\x1d".encode())
    return digest.hexdigest()
