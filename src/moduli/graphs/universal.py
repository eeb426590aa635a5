"""Structure features from a pretrained universal potential (CHGNet), cached on disk.

CHGNet (Deng et al., Nat. Mach. Intell. 5, 1031 (2023); PyPI ``chgnet``, weights inside the
wheel, so it works offline) learned energies, forces, stresses and magnetic moments of 1.5
million Materials Project relaxation frames. Its internal representation of a crystal is a
compact summary of the local chemistry and bonding that our elastic data (4.4k structures) is
too small to learn from scratch; a small head trained on it errs differently from CGCNN, which
is what an ensemble needs (issue 9: a probe mixing the two lowered the test MAE by 8-12 %).

One vector of :data:`N_FEATURES` numbers per structure, from CHGNet's energy-only path:
``[crystal_fea (64) | mean, std, min, max over atoms of the atom features before the last
convolution (4 x 64) | energy per atom (1)]``. Vectors are cached per structure content
(``structure_key``) in ``<cache_dir>/chgnet-<version>.sqlite``.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Data

from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.graphs.cache import ArrayCache
from moduli.graphs.featurizer import structure_key

N_FEATURES = 64 + 4 * 64 + 1


def feature_vector(prediction: dict[str, Any]) -> np.ndarray:
    """The :data:`N_FEATURES` numbers of one CHGNet prediction (``return_atom_feas`` and
    ``return_crystal_feas`` set)."""
    atoms = np.asarray(prediction["atom_fea"], dtype=np.float64)
    pooled = [atoms.mean(axis=0), atoms.std(axis=0), atoms.min(axis=0), atoms.max(axis=0)]
    return np.concatenate([np.asarray(prediction["crystal_fea"], np.float64), *pooled,
                           [float(prediction["e"])]]).astype(np.float32)


class CHGNetFeaturizer:
    """Structures -> CHGNet feature vectors, through an optional disk cache."""

    def __init__(self, cache_dir: str | Path | None = None, batch_size: int = 64):
        import chgnet
        from chgnet.model import CHGNet

        self.model = CHGNet.load(verbose=False)
        self.model.eval()
        self.batch_size = batch_size
        self.cache = (ArrayCache(Path(cache_dir) / f"chgnet-{chgnet.__version__}-{self.model.version}.sqlite",
                                 "features", {"features": np.float32}) if cache_dir else None)

    def compute(self, structures: Sequence[Structure]) -> np.ndarray:
        """Feature vectors of structures CHGNet can read (no cache; raises on a bad one)."""
        predictions = self.model.predict_structure(list(structures), task="e", return_atom_feas=True,
                                                   return_crystal_feas=True, batch_size=self.batch_size)
        if isinstance(predictions, dict):  # one structure
            predictions = [predictions]
        return np.stack([feature_vector(p) for p in predictions])

    def featurize(self, records: Sequence[Record]) -> tuple[dict[str, np.ndarray], list[Rejection]]:
        """Feature vectors by record id, and a rejection for every structure CHGNet cannot read."""
        rejections: list[Rejection] = []
        keys = [self._key(r, rejections) for r in records]
        cached = self.cache.get_many(list(dict.fromkeys(k for k in keys if k))) if self.cache else {}
        vectors = {key: arrays[0] for key, arrays in cached.items()}
        todo = [(r, k) for r, k in zip(records, keys) if k and k not in vectors]
        fresh: dict[str, tuple[np.ndarray]] = {}
        for start in range(0, len(todo), self.batch_size):
            part = todo[start:start + self.batch_size]
            try:
                computed = list(self.compute([r.structure for r, _ in part]))
            except Exception:  # noqa: BLE001 - find the bad structure(s) one by one
                computed = [self._one(record, rejections) for record, _ in part]
            for (record, key), vector in zip(part, computed):
                if vector is not None and not np.all(np.isfinite(vector)):
                    rejections.append(Rejection(record.id, "CHGNet features are not finite",
                                                Stage.FEATURIZE))
                elif vector is not None:
                    vectors[key] = vector
                    fresh[key] = (vector,)
        if self.cache and fresh:
            self.cache.put_many(fresh)
        return {r.id: vectors[k] for r, k in zip(records, keys) if k in vectors}, rejections

    @staticmethod
    def _key(record: Record, rejections: list[Rejection]) -> str | None:
        try:
            return structure_key(record.structure)
        except Exception as err:  # noqa: BLE001 - e.g. a disordered structure has no atomic numbers
            rejections.append(Rejection(record.id, _failure(err), Stage.FEATURIZE))
            return None

    def _one(self, record: Record, rejections: list[Rejection]) -> np.ndarray | None:
        try:
            return self.compute([record.structure])[0]
        except Exception as err:  # noqa: BLE001 - a bad structure never ends a long run
            rejections.append(Rejection(record.id, _failure(err), Stage.FEATURIZE))
            return None


def _failure(err: Exception) -> str:
    return f"CHGNet features failed: {type(err).__name__}: {err}"


@functools.lru_cache(maxsize=None)
def shared_featurizer(cache_dir: str | None = None) -> CHGNetFeaturizer:
    """One featuriser per process and cache dir (CHGNet loads once; DataLoader workers each
    make their own after the fork)."""
    return CHGNetFeaturizer(cache_dir)


def attach_features(graphs: list[Data], records: dict[str, Record], featurizer: CHGNetFeaturizer
                    ) -> tuple[list[Data], list[Rejection]]:
    """Give each graph the feature vector of its record as ``u`` (1 x N); graphs whose structure
    has no vector are left out and their records rejected (stage featurize)."""
    vectors, rejections = featurizer.featurize([records[g.id] for g in graphs])
    for graph in graphs:
        if graph.id in vectors:
            graph.u = torch.from_numpy(np.array(vectors[graph.id], dtype=np.float32)).unsqueeze(0)
    return [g for g in graphs if g.id in vectors], rejections
