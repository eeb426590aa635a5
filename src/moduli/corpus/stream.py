"""Stage 1 of predict.py: stream the corpus, screen what needs no structure, cut into chunks.

Each input gets a sequence number (its position in the corpus). Repeated ids (the first one is
used), inputs that could not be read at all and inputs failing the metadata rules (band gap,
stability) are written to a per-process list of screened-out inputs as they stream past, so
memory stays flat however large the corpus; the rest are yielded in chunks for the chunk runner.
"""
from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from moduli.core.records import FirstOfId
from moduli.core.schema import Stage
from moduli.corpus.readers import UNREADABLE, CorpusEntry
from moduli.corpus.screening import ScreenRules

log = logging.getLogger(__name__)

Chunk = list[tuple[int, CorpusEntry]]  # (sequence number, entry)
SCREENED_OUT_COLUMNS = ["seq", "id", "stage", "reason"]


class ScreenedStream:
    """The screened corpus in chunks of ``chunk_size``; after iteration, :attr:`n_input` inputs
    were read and :attr:`counts` holds the screened-out ones per stage (listed in ``screened_out``)."""

    def __init__(self, entries: Iterable[CorpusEntry], rules: ScreenRules, screened_out: Path,
                 chunk_size: int, corpus_name: str = "corpus"):
        self.entries, self.rules, self.screened_out = entries, rules, Path(screened_out)
        self.chunk_size, self.corpus_name = chunk_size, corpus_name
        self.n_input = 0
        self.counts: Counter[str] = Counter()

    def chunks(self) -> Iterator[Chunk]:
        with open(self.screened_out, "w", newline="") as handle:
            rejected = csv.writer(handle)
            rejected.writerow(SCREENED_OUT_COLUMNS)
            first_of_id = FirstOfId("input")
            chunk: Chunk = []
            for seq, entry in enumerate(self.entries):
                self.n_input += 1
                if seq == 0:
                    self._warn_if_no_band_gap(entry)
                failed = self._check(seq, entry, first_of_id)
                if failed:
                    self.counts[failed[0]] += 1
                    rejected.writerow([seq, entry.id, *failed])
                    continue
                chunk.append((seq, entry))
                if len(chunk) == self.chunk_size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

    def _check(self, seq: int, entry: CorpusEntry, first_of_id: FirstOfId) -> tuple[str, str] | None:
        """(stage, reason) for an input screened out while streaming, or None."""
        repeat = first_of_id.repeat(entry.id, seq + 1)
        if repeat:
            return Stage.DUPLICATE, repeat
        if UNREADABLE in entry.metadata:
            return Stage.PARSE, entry.metadata[UNREADABLE]
        return self.rules.check_metadata(entry.metadata)

    def _warn_if_no_band_gap(self, entry: CorpusEntry) -> None:
        if self.rules.needs_band_gap and self.rules.band_gap_required and "band_gap_ev" not in entry.metadata:
            log.warning("screen=paper keeps band gaps in [%s, %s] eV, but this corpus gives no band "
                        "gap (corpus=%s): inputs without one are screened out; screen=auto or "
                        "screen=none predicts them", self.rules.band_gap_min,
                        self.rules.band_gap_max, self.corpus_name)
