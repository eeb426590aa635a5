"""One trained network ready to predict, and the safe way to read any checkpoint file.

Every checkpoint (native Lightning ``.ckpt``, the slim files bundled with the package, the
original CGCNN ``.pth.tar``) is read with torch's ``weights_only=True`` loader: tensors and
plain containers only, so a crafted file cannot run code when it is opened.
"""
from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch_geometric.data import Batch, Data

from moduli.core.normalizer import Normalizer
from moduli.core.records import Record, Rejection
from moduli.core.errors import MissingInputError, UserInputError
from moduli.graphs.atom_features import AtomFeatureTable
from moduli.graphs.featurizer import CrystalGraphFeaturizer, Featurization
from moduli.models.convert import is_original_checkpoint, load_original
from moduli.models.kinds import ModelKind, kind_named


class CrystalModel:
    """A trained network with its normaliser, featurisation and target, ready to predict."""

    def __init__(self, net: torch.nn.Module, normalizer: Normalizer, featurization: Featurization,
                 target: dict[str, str], atom_table: AtomFeatureTable, kind: ModelKind,
                 features: dict[str, Any] | None = None):
        self.net = net.eval()
        self.normalizer = normalizer
        self.featurization = featurization
        self.target = target
        self.kind = kind
        self.features = features  # what extra inputs the network was trained on (kind's spec)
        kind.check_input_spec(features)
        self.featurizer = CrystalGraphFeaturizer(atom_table, featurization.radius,
                                                 featurization.max_neighbors,
                                                 featurization.gaussian_step)

    @torch.no_grad()
    def predict_batch(self, batch: Batch) -> np.ndarray:
        """Predictions (target units, float64) for one PyG batch of graphs on the net's device."""
        scaled = self.net(batch).double().cpu().numpy()
        return self.normalizer.decode(scaled)

    def predict_graphs(self, graphs: Sequence[Data], featurization: Featurization,
                       batch_size: int = 256) -> np.ndarray:
        """Predictions (target units) for graphs built under ``featurization``, which must match."""
        self.featurization.check_compatible(featurization)
        device = next(self.net.parameters()).device
        out = [self.predict_batch(Batch.from_data_list(list(graphs[start:start + batch_size])).to(device))
               for start in range(0, len(graphs), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float64)

    def predict(self, structures: Sequence[Structure], batch_size: int = 256) -> np.ndarray:
        """One prediction per structure in the target's units (log10 GPa).

        A structure the featuriser rejects (disorder, unknown element, overlapping atoms) gets
        NaN and a warning that names it and the reason.
        """
        graphs, rejections = featurize_for_prediction(self.featurizer, structures, [self.kind])
        result = np.full(len(structures), np.nan, dtype=np.float64)
        if graphs:
            result[[int(g.id) for g in graphs]] = self.predict_graphs(
                graphs, self.featurizer.params, batch_size)
        warn_rejected(rejections)
        return result

    @classmethod
    def from_module(cls, module) -> "CrystalModel":
        """The prediction model of a trained :class:`~moduli.models.module.CrystalModule`."""
        hp = module.hparams
        table = AtomFeatureTable.from_array(module.model.atom_table.cpu().numpy())
        featurization = Featurization(**hp.featurization)
        if table.sha256 != featurization.atom_table_sha256:
            raise ValueError("the checkpoint's atom feature table does not match the hash it records")
        features = hp.get("features")
        return cls(module.model, module.normalizer, featurization,
                   dict(hp.target), table, module.kind, dict(features) if features else None)


def featurize_for_prediction(featurizer: CrystalGraphFeaturizer, structures: Sequence[Structure],
                             kinds: Sequence[ModelKind]) -> tuple[list[Data], list[Rejection]]:
    """Graphs of ``structures`` whose ``id`` is the structure's position, with the inputs every
    kind in ``kinds`` adds, and the rejections."""
    records = [Record(str(i), s) for i, s in enumerate(structures)]
    graphs, rejections = featurizer.featurize(records)
    by_id = {r.id: r for r in records}
    for kind in kinds:
        if graphs:
            graphs, more = kind.add_inputs(graphs, by_id)
            rejections += more
    return graphs, rejections


def warn_rejected(rejections: list[Rejection]) -> None:
    for rejection in rejections:
        warnings.warn(f"structure {rejection.id} not predicted: {rejection.reason}", stacklevel=3)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The contents of a checkpoint file, read with ``weights_only=True`` (no code can run).

    A missing file raises :class:`~moduli.core.errors.MissingInputError` (a ``FileNotFoundError``); an
    unreadable file, or one that needs anything beyond tensors and plain containers, a
    :class:`~moduli.core.errors.UserInputError` (a ``ValueError``) naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"no checkpoint file at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        called = re.search(r"GLOBAL (\S+)", str(err))
        if called:
            raise UserInputError(f"refused to load {path}: unpickling it would call "
                                 f"{called.group(1)} (only tensors and plain containers are "
                                 "loaded, so that no file can run code)") from err
        raise UserInputError(f"refused to load {path}: not a checkpoint of tensors and plain "
                             "containers only (no checkpoint at all, or a pickle whose loading "
                             "could run code)") from err
    except (RuntimeError, EOFError, OSError) as err:
        raise UserInputError(f"unreadable checkpoint {path}: {type(err).__name__}: "
                             f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}") from err
    if not isinstance(checkpoint, dict):
        raise UserInputError(f"{path} is not a checkpoint (a {type(checkpoint).__name__}, not a dict)")
    return checkpoint


def load_checkpoint(path: str | Path, data_dir: str | Path | None = None) -> CrystalModel:
    """A native (Lightning or bundled) checkpoint or an original CGCNN ``.pth.tar``, for prediction.

    ``data_dir`` is only used for original checkpoints, to find CGCNN's ``atom_init.json``.
    """
    checkpoint = read_checkpoint(path)
    if is_original_checkpoint(checkpoint):
        table = AtomFeatureTable.cgcnn(data_dir)
        net, normalizer, featurization = load_original(checkpoint, table, str(path))
        target = {"name": "log10_modulus", "units": "log10(GPa)"}
        return CrystalModel(net, normalizer, featurization, target, table, kind_named("cgcnn"))
    if "hyper_parameters" not in checkpoint or "state_dict" not in checkpoint:
        raise UserInputError(f"{path} is neither a moduli checkpoint nor an original CGCNN one")
    from moduli.models.module import CrystalModule

    module = CrystalModule(**checkpoint["hyper_parameters"])
    module.load_state_dict(checkpoint["state_dict"])
    return CrystalModel.from_module(module)
