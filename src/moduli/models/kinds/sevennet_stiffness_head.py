"""SevenNet heads that also read the potential's own clamped-ion bulk modulus (issue 19, lever 4).

Beside SevenNet-0's 640 features (:mod:`.sevennet_head`, definition 1), two numbers per
structure from SevenNet-0's energies of the cell scaled to 97 %, 100 % and 103 % of its volume
with fractional coordinates fixed: log10 of the clamped-ion bulk modulus K = V d²E/dV² (GPa,
clipped at 0.1 GPa so an unstable cell still gives a number) and the pressure -dE/dV (GPa), both
by central differences. Clamped ions overestimate K where atoms would relax under strain (a
relaxed-ion K needs ~1.5 s per structure), but as a *feature* the head learns what to make of it;
issue 19's probe found the potentials' K ranks DFT's well (Spearman 0.97 relaxed). Both numbers
are intensive, so a supercell gives the same. Three energy evaluations on top of the features
(TorchScript; ``benchmarks/model_cost.py`` has the cost): a row of the accuracy table, not a default.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure

from moduli.graphs.cache import ArrayCache
from moduli.models.kinds import sevennet_head
from moduli.models.kinds.vector_head import VectorHeadKind

STRAIN = 0.03  # relative volume change of the two strained cells: large enough that float32 energies
# resolve the curvature (at 1 %, a 2x2x2 silicon cell's K differed from the primitive's by 3e-4 in log10)
EV_PER_A3_IN_GPA = 160.21766208
KEY = "u_sevennet_stiff"


class SevenNetStiffness(sevennet_head.SevenNetFeaturizer):
    """Structures -> [log10 clamped-ion K (GPa), pressure (GPa)] from SevenNet-0's energies,
    through an optional disk cache (its own file); reads and rejects elements as the features do."""

    def __init__(self, cache_dir: str | Path | None = None):
        super().__init__(None, 1)
        self.key, self.n_features = KEY, 2
        self.spec = {**self.spec, "name": "sevennet_clamped_stiffness", "strain": STRAIN, "n_features": 2}
        self.cache = (ArrayCache(Path(cache_dir) / f"sevennet-{self.spec['package']}-{self.spec['model']}"
                                 f"-stiffness-d{self.spec['definition']}.sqlite", "features", {"features": np.float32})
                      if cache_dir else None)

    def script(self) -> torch.jit.ScriptModule:
        """SevenNet-0's whole energy model, scripted and frozen (as ``sevenn``'s own LAMMPS
        deployment does): 20 ms for the three energies of a structure on one thread against 35 ms
        eager (60 real structures), the same numbers bit for bit."""
        import e3nn.util.jit

        model = copy.deepcopy(self.model)
        model.set_is_batch_data(False)
        model.eval_type_map = False  # graph_inputs gives element indices already
        return torch.jit.freeze(e3nn.util.jit.script(model.eval()))

    @torch.inference_mode()
    def energy(self, structure: Structure) -> float:
        from sevenn._keys import ATOMIC_ENERGY

        # the atoms' energies summed in float64: a float32 total loses the curvature of big cells
        return float(self.scripted(self.graph_inputs(structure))[ATOMIC_ENERGY].double().sum())

    def compute_one(self, structure: Structure) -> np.ndarray:
        self.check(structure)
        volume = structure.volume
        energies = []
        for scale in (1 - STRAIN, 1.0, 1 + STRAIN):
            cell = structure.copy()
            cell.scale_lattice(volume * scale)
            energies.append(self.energy(cell))
        step = STRAIN * volume
        curvature = (energies[0] - 2 * energies[1] + energies[2]) / step ** 2
        bulk = volume * curvature * EV_PER_A3_IN_GPA
        pressure = -(energies[2] - energies[0]) / (2 * step) * EV_PER_A3_IN_GPA
        vector = np.array([np.log10(max(bulk, 0.1)), pressure], dtype=np.float64)
        if not np.all(np.isfinite(vector)):
            raise ValueError("SevenNet stiffness is not finite")
        return vector.astype(np.float32)


@functools.lru_cache(maxsize=None)
def shared_stiffness(cache_dir: str | None = None) -> SevenNetStiffness:
    return SevenNetStiffness(cache_dir)


class SevenNetStiffnessHeadKind(VectorHeadKind):
    name = "sevennet_stiffness_mlp"
    label = "SevenNet-feature + stiffness heads"
    keys = (sevennet_head.DEFINITIONS[1][1], KEY)
    n_features = sevennet_head.vector_length(1) + 2

    def featurizers(self, cache_dir: str | None = None) -> list[Any]:
        return [sevennet_head.shared_featurizer(cache_dir, 1), shared_stiffness(cache_dir)]
