"""Structure features from a pretrained universal potential (CHGNet), cached on disk.

CHGNet (Deng et al., Nat. Mach. Intell. 5, 1031 (2023); PyPI ``chgnet``, weights inside the
wheel, so it works offline) learned energies, forces, stresses and magnetic moments of 1.5
million Materials Project relaxation frames. Its internal representation of a crystal is a
compact summary of the local chemistry and bonding that our elastic data (4.4k structures) is
too small to learn from scratch; a small head trained on it errs differently from CGCNN, which
is what an ensemble needs (a probe mixing the two lowered the test MAE by 8-12 %; see experiments/).

One vector of :data:`N_FEATURES` numbers per structure, from CHGNet's energy-only path:
``[crystal_fea / atoms (64) | mean, std, min, max over atoms of the atom features before the last
convolution (4 x 64) | energy per atom (1)]``. Every number is intensive, so one crystal gets one
vector whatever cell describes it: CHGNet's ``crystal_fea`` is a *sum* over atoms (it grew 256x
from silicon's 2-atom cell to a 512-atom supercell), so it is divided by the number of atoms
(definition 2; definition 1 used the sum). Vectors are cached per structure content
(``structure_key``) in ``<cache_dir>/chgnet-<package>-<weights>-d<definition>.sqlite``, and
every head trained on them records :meth:`CHGNetFeaturizer.spec` in its checkpoint.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Structure

from moduli.core.records import Record, Rejection
from moduli.core.schema import Stage
from moduli.core.errors import FeaturesMismatch
from moduli.graphs.cache import ArrayCache
from moduli.graphs.featurizer import StructureRejected, structure_key

N_FEATURES = 64 + 4 * 64 + 1
DEFINITION = 2  # 1: crystal_fea summed over atoms (depends on the cell); 2: per atom
KEY = "u"  # the graph attribute holding the vector


def feature_vector(prediction: dict[str, Any]) -> np.ndarray:
    """The :data:`N_FEATURES` numbers of one CHGNet prediction (``return_atom_feas`` and
    ``return_crystal_feas`` set)."""
    atoms = np.asarray(prediction["atom_fea"], dtype=np.float64)
    pooled = [atoms.mean(axis=0), atoms.std(axis=0), atoms.min(axis=0), atoms.max(axis=0)]
    per_atom = np.asarray(prediction["crystal_fea"], np.float64) / len(atoms)
    return np.concatenate([per_atom, *pooled, [float(prediction["e"])]]).astype(np.float32)


def check_spec(trained: dict[str, Any] | None, current: dict[str, Any]) -> None:
    """Raise :class:`FeaturesMismatch` unless a head trained on features ``trained`` (its
    checkpoint's record; None for heads from before the record existed) can read ``current``."""
    if trained is None:
        raise FeaturesMismatch(
            "this head's checkpoint records no CHGNet feature version: it was trained on "
            "definition 1 (crystal features summed over atoms, which made predictions depend on "
            f"the cell); retrain it on the current features ({current})")
    diffs = {k: (trained.get(k), v) for k, v in current.items() if trained.get(k) != v}
    if diffs:
        detail = ", ".join(f"{k}: trained on {a!r}, here {b!r}" for k, (a, b) in diffs.items())
        raise FeaturesMismatch(f"CHGNet features differ from the ones this head was trained on ({detail})")


class CHGNetFeaturizer:
    """Structures -> CHGNet feature vectors, through an optional disk cache (a vector featuriser
    as :mod:`moduli.models.kinds.feature_heads` describes)."""

    key = KEY

    def __init__(self, cache_dir: str | Path | None = None, batch_size: int = 64):
        import chgnet
        from chgnet.model import CHGNet

        self.model = CHGNet.load(verbose=False)
        self.model.eval()
        self.batch_size = batch_size
        self.max_z = int(self.model.atom_embedding.embedding.num_embeddings)
        self.spec = {"name": "chgnet", "package": chgnet.__version__, "weights": self.model.version,
                     "definition": DEFINITION, "n_features": N_FEATURES}
        self.cache = (ArrayCache(Path(cache_dir) / f"chgnet-{chgnet.__version__}-{self.model.version}"
                                 f"-d{DEFINITION}.sqlite", "features", {"features": np.float32})
                      if cache_dir else None)

    def check(self, structure: Structure) -> None:
        """Raise :class:`~moduli.graphs.featurizer.StructureRejected` naming any element CHGNet
        has no embedding for (it knows Z 1 to :attr:`max_z`), before the network sees it."""
        outside = sorted({(site.specie.Z, site.specie.symbol) for site in structure
                          if site.specie.Z > self.max_z})
        if outside:
            names = ", ".join(f"{symbol} (Z {z})" for z, symbol in outside)
            raise StructureRejected(f"element(s) {names} outside CHGNet's elements (Z 1-{self.max_z}), "
                                    "which the CHGNet-feature head members read")

    def check_spec(self, recorded: dict[str, Any] | None) -> None:
        """Raise :class:`FeaturesMismatch` unless a head trained on ``recorded`` reads these."""
        check_spec(recorded, self.spec)

    def compute_one(self, structure: Structure) -> np.ndarray:
        return self.compute([structure])[0]

    def compute(self, structures: Sequence[Structure]) -> np.ndarray:
        """Feature vectors of structures CHGNet can read (no cache; raises on a bad one)."""
        for structure in structures:
            self.check(structure)
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

    def _key(self, record: Record, rejections: list[Rejection]) -> str | None:
        try:
            self.check(record.structure)
            return structure_key(record.structure)
        except StructureRejected as err:
            rejections.append(Rejection(record.id, str(err), Stage.FEATURIZE))
            return None
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
