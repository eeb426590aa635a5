"""The prediction table: one row per structure with B, G, derived properties and the cell.

``predict.py`` writes this table for whole corpora; :func:`predict` (``moduli.predict``)
returns it for structures in memory. Both build each row with :func:`structure_row` and
:func:`moduli.models.ensemble.modulus_columns`, so they agree to floating-point noise.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pymatgen.core import Structure
from torch_geometric.data import Batch, Data

from moduli.core.assets import default_cache_dir
from moduli.core.cell import cell_description
from moduli.core.structures import UnreadableStructure, as_structures
from moduli.graphs.featurizer import CrystalGraphFeaturizer, StructureRejected
from moduli.models.api import CrystalModel
from moduli.models.ensemble import (EnsembleModel, as_ensemble, check_moduli, modulus_columns, row_values,
                                    unique_kinds)
from moduli.models.kinds import ModelKind
from moduli.models.kinds.base import InputOptions
from moduli.models.registry import load_model
from moduli.physics.derived import table_columns

# What predict.py and moduli.predict use when no model is given: the bundled ensembles.
DEFAULT_MODELS = {"bulk": "mp-elastic-k", "shear": "mp-elastic-g"}

ModelLike = str | Path | CrystalModel | EnsembleModel


def structure_row(structure: Structure, featurizer: CrystalGraphFeaturizer, symprec: float = 0.1,
                  kinds: Sequence[ModelKind] = (), options: InputOptions = InputOptions()
                  ) -> tuple[Data, dict[str, Any]]:
    """(graph, cell columns) of one structure, the graph with the inputs each of ``kinds`` adds;
    raises for a structure that cannot be predicted."""
    graph = featurizer.graph(structure)
    for kind in kinds:
        kind.add_structure_inputs(graph, structure, options)
    return graph, cell_description(structure, symprec)


def complete_inputs(kinds: Sequence[ModelKind], batch: Batch, options: InputOptions) -> list[int]:
    """Finish a batch of :func:`structure_row` graphs where the networks run (features left to
    the device, fresh features into the cache); the positions of graphs whose inputs failed."""
    failed = None
    for kind in kinds:
        bad = kind.complete_batch(batch, options)
        if bad is not None:
            failed = bad if failed is None else failed | bad
    return [] if failed is None else failed.nonzero().flatten().tolist()


FEATURES_FAILED = "foundation-model features are not finite"


def prediction_options(cache: bool | str | Path, on_device: bool = False) -> InputOptions:
    """Where prediction's features are cached: True, the user cache (``MODULI_CACHE_DIR`` or
    ~/.cache/moduli, where training puts them), a folder, or False (no cache)."""
    if cache is True:
        cache = default_cache_dir()
    return InputOptions(str(cache) if cache else None, on_device)


def featurize_reason(err: Exception) -> str:
    """The rejection reason for an error raised by :func:`structure_row`."""
    return str(err) if isinstance(err, StructureRejected) else f"{type(err).__name__}: {err}"


def resolve_models(bulk: ModelLike | Sequence[ModelLike] | None = None,
                   shear: ModelLike | Sequence[ModelLike] | None = None,
                   data_dir: str | Path | None = None) -> dict[str, EnsembleModel]:
    """Bulk and shear ensembles from bundled names, checkpoint paths or loaded models, or a list
    of those (default: the bundled ensembles). One bundled ensemble keeps its calibration; a
    list pools all members into one ensemble with an uncalibrated std."""
    ensembles = {}
    for prop, given in (("bulk", bulk), ("shear", shear)):
        items = list(given) if isinstance(given, (list, tuple)) else [given]
        items = [DEFAULT_MODELS[prop]] if items in ([], [None]) else items
        loaded = [load_model(m, data_dir) if isinstance(m, (str, Path)) else m for m in items]
        ensembles[prop] = (as_ensemble(loaded[0]) if len(loaded) == 1 else
                           EnsembleModel([m for model in loaded for m in as_ensemble(model).members]))
    check_moduli(ensembles)
    return ensembles


def predict(structures: Structure | Any | Sequence[Structure | Any], ids: Sequence[str] | None = None,
            bulk: ModelLike | Sequence[ModelLike] | None = None,
            shear: ModelLike | Sequence[ModelLike] | None = None, symprec: float = 0.1,
            batch_size: int = 256, data_dir: str | Path | None = None,
            cache: bool | str | Path = True) -> pd.DataFrame:
    """Bulk and shear moduli (GPa), their std and derived properties, one row per structure.

    ``structures``: a pymatgen ``Structure``, an ASE ``Atoms``, or a list of either (anything
    else is a :class:`TypeError`). The columns are those of ``moduli predict``'s table (B, G and
    their calibrated std, sound velocities, Poisson ratio, Debye temperature, the cell, and
    ``in_domain``) plus ``rejected``: None for a predicted structure, the reason for one that
    cannot be used (a molecule, partial occupancy, overlapping atoms...), whose values are NaN.

    ``ids`` default to the positions ``"0", "1", ...``. ``bulk`` / ``shear`` take a bundled model
    name (``moduli.available_models()``), a checkpoint path, a loaded model or a list of those
    (an ensemble; see :func:`resolve_models`); the default is the bundled pair
    ``mp-elastic-k`` / ``mp-elastic-g``. ``symprec`` (Å) is the tolerance of the symmetry
    columns; ``data_dir`` locates CGCNN's ``atom_init.json`` for original checkpoints. ``cache``:
    foundation-model features are read from and written to the feature cache training uses (True:
    ``MODULI_CACHE_DIR`` or ~/.cache/moduli; a folder; False: computed every time).

        import moduli
        from pymatgen.core import Structure
        table = moduli.predict(Structure.from_file("NaCl.cif"))
        table = moduli.predict([atoms_a, atoms_b], ids=["a", "b"], bulk="mp-elastic-k-fast",
                               shear="mp-elastic-g-fast")
    """
    items = as_structures(structures)
    ids = [str(i) for i in (range(len(items)) if ids is None else ids)]
    if len(ids) != len(items):
        raise ValueError(f"{len(ids)} ids for {len(items)} structures")
    ensembles = resolve_models(bulk, shear, data_dir)
    featurizer = next(iter(ensembles.values())).featurizer
    kinds = unique_kinds(ensembles.values())
    options = prediction_options(cache)
    rows: list[dict[str, Any]] = []
    good: list[tuple[int, Data]] = []
    for structure_id, structure in zip(ids, items):
        try:
            if isinstance(structure, UnreadableStructure):
                raise structure
            graph, cell = structure_row(structure, featurizer, symprec, kinds, options)
        except Exception as err:  # noqa: BLE001 - a bad structure is a row with a reason
            rows.append({"id": structure_id, "rejected": featurize_reason(err)})
            continue
        good.append((len(rows), graph))
        rows.append({"id": structure_id, **cell, "rejected": None})
    for start in range(0, len(good), batch_size):
        part = good[start:start + batch_size]
        batch = Batch.from_data_list([g for _, g in part])
        failed = complete_inputs(kinds, batch, options)
        for k in failed:
            rows[part[k][0]] = {"id": rows[part[k][0]]["id"], "rejected": FEATURES_FAILED}
        if failed:
            keep = [k for k in range(len(part)) if k not in set(failed)]
            if not keep:
                continue
            batch, part = Batch.from_data_list(batch.index_select(keep)), [part[k] for k in keep]
        columns = modulus_columns(ensembles, batch, [rows[i] for i, _ in part])
        for k, (i, _) in enumerate(part):
            rows[i].update(row_values(columns, k))
    present = {c for r in rows for c in r}
    return pd.DataFrame(rows, columns=table_columns(present) + ["rejected"])
