"""The public Python API: ``moduli.load_model(path).predict(structures)``."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Batch, Data

from moduli.data.records import Record
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer, Featurization
from moduli.models.cgcnn import CGCNN
from moduli.models.convert import is_original_checkpoint, load_original


class CrystalModel:
    """A trained network with its normaliser, featurisation and target, ready to predict."""

    def __init__(self, net: CGCNN, normalizer: dict[str, float], featurization: Featurization,
                 target: dict[str, str], atom_table: AtomFeatureTable):
        self.net = net.eval()
        self.normalizer = normalizer
        self.featurization = featurization
        self.target = target
        self.featurizer = CrystalGraphFeaturizer(atom_table, featurization.radius,
                                                 featurization.max_neighbors,
                                                 featurization.gaussian_step)

    @torch.no_grad()
    def predict_graphs(self, graphs: Sequence[Data], featurization: Featurization,
                       batch_size: int = 256) -> np.ndarray:
        """Predictions (target units) for graphs built under ``featurization``, which must match."""
        self.featurization.check_compatible(featurization)
        device = next(self.net.parameters()).device
        out = []
        for start in range(0, len(graphs), batch_size):
            batch = Batch.from_data_list(list(graphs[start:start + batch_size])).to(device)
            out.append(self.net(batch).cpu().numpy())
        scaled = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
        return scaled * self.normalizer["std"] + self.normalizer["mean"]

    def predict(self, structures: Sequence[Structure], batch_size: int = 256) -> np.ndarray:
        """One prediction per structure in the target's units (log10 GPa).

        A structure the featuriser rejects (disorder, unknown element, overlapping atoms) gets
        NaN and a warning that names it and the reason.
        """
        records = [Record(str(i), s) for i, s in enumerate(structures)]
        graphs, rejections = self.featurizer.featurize(records)
        result = np.full(len(records), np.nan, dtype=np.float64)
        if graphs:
            result[[int(g.id) for g in graphs]] = self.predict_graphs(
                graphs, self.featurizer.params, batch_size)
        for rejection in rejections:
            warnings.warn(f"structure {rejection.id} not predicted: {rejection.reason}", stacklevel=2)
        return result

    @classmethod
    def from_module(cls, module) -> "CrystalModel":
        """The prediction model of a trained :class:`~moduli.models.module.CGCNNModule`."""
        hp = module.hparams
        table = AtomFeatureTable.from_array(module.model.atom_table.cpu().numpy())
        featurization = Featurization(**hp.featurization)
        if table.sha256 != featurization.atom_table_sha256:
            raise ValueError("the checkpoint's atom feature table does not match the hash it records")
        return cls(module.model, {"mean": module.mean, "std": module.std}, featurization,
                   dict(hp.target), table)

    def to(self, device: str | torch.device) -> "CrystalModel":
        self.net.to(device)
        return self


def load_model(path: str | Path, data_dir: str | Path | None = None) -> CrystalModel:
    """Load a native (Lightning) checkpoint or an original CGCNN ``.pth.tar`` for prediction.

    ``data_dir`` is only used for original checkpoints, to find CGCNN's ``atom_init.json``.
    """
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if is_original_checkpoint(checkpoint):
        table = AtomFeatureTable.cgcnn(data_dir)
        net, normalizer, featurization = load_original(path, table)
        target = {"name": "log10_modulus", "units": "log10(GPa)"}
        return CrystalModel(net, normalizer, featurization, target, table)
    from moduli.models.module import CGCNNModule

    return CrystalModel.from_module(CGCNNModule.load_from_checkpoint(path, map_location="cpu"))
