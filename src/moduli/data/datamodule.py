"""LightningDataModule: source -> records -> split -> cached graphs -> DataLoaders."""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import Sampler
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from moduli.core.normalizer import Normalizer
from moduli.core.records import Record, Rejection
from moduli.core.schema import check_target
from moduli.data.sources import SourceResult, load_named
from moduli.data.splits import Split, fold_split, official_matbench_test_folds, random_split
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer

log = logging.getLogger(__name__)


class InputKind(Protocol):
    """What the datamodule asks of a model kind (:class:`moduli.models.kinds.ModelKind`)."""

    def add_inputs(self, graphs: list[Data], records: dict[str, Record],
                   cache_dir: str | None = None) -> tuple[list[Data], list[Rejection]]: ...


class EpochShuffleSampler(Sampler[int]):
    """A new order every epoch that depends only on (seed, epoch).

    Lightning calls :meth:`set_epoch` before each epoch, so a run resumed from a checkpoint sees
    exactly the batches an uninterrupted run would (a plain shuffle draws from the global RNG,
    whose state a checkpoint does not hold).
    """

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())

    def __len__(self) -> int:
        return self.size


class CrystalGraphDataModule(pl.LightningDataModule):
    """Graphs for one target, split by the random or the Matbench fold protocol.

    ``fold=None`` gives the seeded random split by ``fractions``; ``fold=k`` the Matbench
    protocol (``matbench_task`` names a Matbench task whose official fold ids are used instead of
    recomputing them). ``extra_train`` names further sources (:data:`~moduli.data.sources.NAMED_SOURCES`)
    whose records join the training part only, after the split, so validation and test ids are
    the same with or without them. ``seed`` fixes the random split and the validation share, ``shuffle_seed``
    (default: ``seed``) the order of training batches. Splits are made over the source's cleaned records (after ``limit``), before
    featurisation, so they do not depend on featurisation settings; records the featuriser
    rejects are then left out of their split and reported in :attr:`rejections`. The model's
    kind, given by :meth:`use_inputs`, adds what else its networks read to each graph.
    """

    def __init__(self, source: Callable[[], SourceResult], target: str, limit: int | None = None,
                 fold: int | None = None, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                 val_fraction: float = 0.1, matbench_task: str | None = None, seed: int = 42,
                 featurizer: dict[str, Any] | None = None, atom_features: str | None = None,
                 data_dir: str | None = None, cache_dir: str | None = None, batch_size: int = 128,
                 num_workers: int = 0, shuffle_seed: int | None = None,
                 extra_train: Sequence[str] = ()):
        super().__init__()
        check_target(target)
        self.source, self.target, self.limit, self.data_dir = source, target, limit, data_dir
        self.fold, self.fractions, self.val_fraction = fold, tuple(fractions), val_fraction
        self.matbench_task, self.seed = matbench_task, seed
        self.extra_train = list(extra_train)
        self.shuffle_seed = seed if shuffle_seed is None else shuffle_seed
        self.batch_size, self.num_workers = batch_size, num_workers
        table = (AtomFeatureTable.from_json(atom_features) if atom_features
                 else AtomFeatureTable.cgcnn(data_dir))
        graph_dir = Path(cache_dir) / "graphs" if cache_dir else None
        self.featurizer = CrystalGraphFeaturizer(table, cache_dir=graph_dir, **(featurizer or {}))
        self.cache_dir = cache_dir
        self.inputs: InputKind | None = None  # what adds the model's extra inputs (use_inputs)
        self.rejections: list[Rejection] = []
        self.split_ids: Split = {}
        self.graphs: dict[str, list[Data]] = {}
        self.records: dict[str, Record] = {}  # every usable record by id (baselines read these)

    @property
    def featurization(self):
        return self.featurizer.params

    def use_inputs(self, kind: "InputKind") -> None:
        """Let ``kind`` add the inputs its networks read beyond the crystal graph (before setup)."""
        if self.graphs:
            raise RuntimeError("use_inputs must come before setup")
        self.inputs = kind

    def setup(self, stage: str | None = None) -> None:
        if self.graphs:
            return
        records, rejections = self.source()
        if self.limit is not None:
            records = records[: self.limit]
        ids = [r.id for r in records]
        if self.fold is None:
            self.split_ids = random_split(ids, self.fractions, self.seed)
        else:
            folds = official_matbench_test_folds(self.matbench_task) if self.matbench_task else None
            self.split_ids = fold_split(ids, self.fold, self.seed, self.val_fraction, folds)
        extra, extra_rejections = self.extra_records(set(ids))
        self.split_ids["train"] = self.split_ids["train"] + [r.id for r in extra]
        records, rejections = records + extra, rejections + extra_rejections
        graphs, featurize_rejections = self.featurizer.featurize(records, self.target)
        self.records = {r.id: r for r in records}
        if self.inputs is not None:
            graphs, more = self.inputs.add_inputs(graphs, self.records, self.cache_dir)
            featurize_rejections += more
        self.rejections = rejections + featurize_rejections
        by_id = {g.id: g for g in graphs}
        self.graphs = {split: [by_id[i] for i in members if i in by_id]
                       for split, members in self.split_ids.items()}
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.graphs.items())
        log.info("data: %d records, %d rejected (%d at source, %d at featurisation); %s",
                 len(records) + len(rejections), len(self.rejections), len(rejections),
                 len(featurize_rejections), sizes)
        if not self.graphs["train"] or not self.graphs["val"]:
            raise ValueError(f"empty train or validation split ({sizes}); use more records")

    def extra_records(self, taken: set[str]) -> SourceResult:
        """The records of the ``extra_train`` sources (an id already taken is a rejection)."""
        records, rejections = [], []
        for name in self.extra_train:
            more, refused = load_named(name, self.data_dir)
            rejections += refused
            for record in more:
                if record.id in taken:
                    rejections.append(Rejection(record.id, f"extra source {name}: id already in the data"))
                else:
                    taken.add(record.id)
                    records.append(record)
            log.info("extra training source %s: %d records, %d rejected", name, len(more), len(refused))
        return records, rejections

    def normalizer(self) -> Normalizer:
        """Mean and std of the training targets (std floored so a constant target cannot divide by 0)."""
        return Normalizer.fit([float(g.y) for g in self.graphs["train"]])

    def split_targets(self, split: str) -> tuple[list[str], np.ndarray]:
        """Ids and target values of a split's graphs, in split order."""
        graphs = self.graphs[split]
        return [g.id for g in graphs], np.array([float(g.y) for g in graphs])

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        # In training, a last batch of one graph can hold a single atom, and BatchNorm cannot
        # train on one value: drop such a batch (it is a different graph every epoch).
        drop_last = shuffle and len(self.graphs[split]) % self.batch_size == 1
        sampler = EpochShuffleSampler(len(self.graphs[split]), self.shuffle_seed) if shuffle else None
        return DataLoader(self.graphs[split], batch_size=self.batch_size, sampler=sampler,
                          drop_last=drop_last, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")
