"""SevenNet-0's clamped-ion elastic response as features (fractional coordinates fixed).

Three featurisers share SevenNet-0's energy model and the memo of its strain Hessian:

- :class:`SevenNetStiffness` (``u_sevennet_stiff``, 2 numbers): from the energies of the cell
  scaled to 97 %, 100 % and 103 % of its volume, log10 of the clamped-ion bulk modulus
  K = V d²E/dV² (GPa, clipped at 0.1 GPa so an unstable cell still gives a number) and the
  pressure -dE/dV (GPa), by central differences. Clamped ions overestimate K where atoms would
  relax (a relaxed-ion K needs ~1.5 s per structure), but as a *feature* the head learns what to
  make of it: the potentials' K ranks DFT's well (Spearman 0.97 relaxed). Three energies on top
  of the 640 features (TorchScript; ``benchmarks/model_cost.py`` has the cost); on the predicting
  module's device, the three energies of a whole batch in three batched passes.
- :class:`SevenNetShear` (``u_sevennet_shear``, 1 number): log10 of the Voigt shear modulus of the
  exact strain Hessian of the energy (its docstring says how, and why not finite strains).
- :class:`SevenNetKelvin` (``u_sevennet_kelvin``, 8 numbers): from the same Hessian C, what a shear
  modulus also depends on (how anisotropic the crystal is, how close a shear mode is to unstable:
  DFT's G_VRH averages Voigt's bound with Reuss's, which the softest modes dominate): log10 G_V
  and log10 K_V (clipped at 0.1 GPa) and the six **Kelvin moduli**, the eigenvalues of C in
  Mandel form (shear rows and columns scaled by √2, so that a rotation acts on it as an
  orthogonal 6x6 matrix), sorted, each as sign(λ) log10(1 + |λ| / 1 GPa) (an unstable clamped
  mode stays finite).

Every number is an invariant of the tensor and intensive (per volume), so every cell, origin,
orientation and atom order of a crystal gives the same. The Hessian costs 0.53 s per structure on
one thread; :class:`MatrixMemo` computes it once for every featuriser that reads it. On the
predicting module's device (a GPU) :meth:`SevenNetShear.batched_hessians` computes those of a
whole batch in one double-backward pass, the same matrices as one structure at a time.
"""
from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pymatgen.core import Structure
from torch import Tensor, nn

from moduli.graphs.cache import ArrayCache
from moduli.graphs.featurizer import structure_key
from moduli.features import sevennet as sevennet_features
from moduli.physics.elastic import kelvin_moduli, voigt_bulk_modulus, voigt_shear_modulus

STRAIN = 0.03  # relative volume change of the two strained cells: large enough that float32 energies
# resolve the curvature (at 1 %, a 2x2x2 silicon cell's K differed from the primitive's by 3e-4 in log10)
VOLUME_SCALES = (1 - STRAIN, 1.0, 1 + STRAIN)  # the three cells, as fractions of the structure's volume
EV_PER_A3_IN_GPA = 160.21766208
STIFFNESS_KEY = "u_sevennet_stiff"


def stiffness_vectors(energies: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    """[log10 K (GPa, clipped at 0.1), pressure (GPa)] of each structure (n, 2; float64) from the
    energies (n, 3; eV) of its cell at :data:`VOLUME_SCALES` of its volume (n; Å³), by central
    differences: K = V d²E/dV², P = -dE/dV."""
    step = STRAIN * volumes
    curvature = (energies[:, 0] - 2 * energies[:, 1] + energies[:, 2]) / step ** 2
    bulk = volumes * curvature * EV_PER_A3_IN_GPA
    pressure = -(energies[:, 2] - energies[:, 0]) / (2 * step) * EV_PER_A3_IN_GPA
    return np.stack([np.log10(np.maximum(bulk, 0.1)), pressure], axis=1)


class SevenNetStiffness(sevennet_features.SevenNetFeaturizer):
    """Structures -> [log10 clamped-ion K (GPa), pressure (GPa)] from SevenNet-0's energies,
    through an optional disk cache (its own file); reads and rejects elements as the features do.

    Two ways to the same vectors: :meth:`compute_one` (TorchScript, one structure at a time, in
    the CPU workers) and :meth:`compute_batch` (a batch on the predicting module's device)."""

    batched = True  # compute_batch: the three energies of many structures in three passes

    def __init__(self, cache_dir: str | Path | None = None):
        super().__init__(None, 1)
        self.key, self.n_features = STIFFNESS_KEY, 2
        self.spec = {**self.spec, "name": "sevennet_clamped_stiffness", "strain": STRAIN, "n_features": 2}
        self.cache = self.own_cache(cache_dir, "stiffness")

    def own_cache(self, cache_dir: str | Path | None, name: str) -> ArrayCache | None:
        """This featuriser's cache file (``sevennet-<package>-<model>-<name>-d<definition>.sqlite``),
        none without a cache folder."""
        if not cache_dir:
            return None
        spec = self.spec
        file = f"sevennet-{spec['package']}-{spec['model']}-{name}-d{spec['definition']}.sqlite"
        return ArrayCache(Path(cache_dir) / file, "features", {"features": np.float32})

    def script(self) -> torch.jit.ScriptModule:
        """SevenNet-0's whole energy model, scripted and frozen (as ``sevenn``'s own LAMMPS
        deployment does): 20 ms for the three energies of a structure on one thread against 35 ms
        eager (60 real structures), the same numbers bit for bit."""
        import e3nn.util.jit

        return torch.jit.freeze(e3nn.util.jit.script(self.energy_model()))

    def energy_model(self) -> nn.Module:
        """A copy of SevenNet-0's energy model for one unbatched graph of :meth:`graph_inputs`."""
        model = copy.deepcopy(self.model)
        model.set_is_batch_data(False)
        model.eval_type_map = False  # graph_inputs gives element indices already
        return model.eval()

    @torch.inference_mode()
    def energy(self, structure: Structure) -> float:
        from sevenn._keys import ATOMIC_ENERGY

        # the atoms' energies summed in float64: a float32 total loses the curvature of big cells
        return float(self.scripted(self.graph_inputs(structure))[ATOMIC_ENERGY].double().sum())

    def compute_one(self, structure: Structure) -> np.ndarray:
        self.check(structure)
        energies = []
        for scale in VOLUME_SCALES:
            cell = structure.copy()
            cell.scale_lattice(structure.volume * scale)
            energies.append(self.energy(cell))
        vector = stiffness_vectors(np.array([energies]), np.array([structure.volume]))[0]
        if not np.all(np.isfinite(vector)):
            raise ValueError("SevenNet stiffness is not finite")
        return vector.astype(np.float32)

    def add_batch_inputs(self, graph: Any, structure: Structure | None) -> None:
        """SevenNet's edges of ``structure``'s cell at the smallest of :data:`VOLUME_SCALES`, and
        its volume. Fractions fixed, every edge vector scales with the cell, so the edges of the
        larger cells are those of this one, scaled, that stay within the cutoff
        (:meth:`compute_batch`)."""
        cell = None
        if structure is not None:
            cell = structure.copy()
            cell.scale_lattice(structure.volume * VOLUME_SCALES[0])
        sevennet_features.SevenNetFeaturizer.add_batch_inputs(self, graph, cell)
        add_volume(graph, self.key, structure)

    @torch.inference_mode()
    def compute_batch(self, batch: Any, graphs: Tensor) -> Tensor:
        """The vectors (float32, on the batch's device) of the ``graphs`` (positions in
        ``batch``): each graph's energy at the three volumes in one batched pass per volume, the
        atoms' energies summed per graph in float64 as :meth:`energy` sums them. A vector that is
        not finite is left so (the caller rejects that structure)."""
        from sevenn._keys import ATOMIC_ENERGY

        device = batch.z.device
        z, index, vectors, graph_of_atom = graphs_edges(batch, self.key, graphs.to(device))
        lengths = torch.linalg.vector_norm(vectors.double(), dim=1)
        energies = torch.zeros(len(graphs), len(VOLUME_SCALES), dtype=torch.float64, device=device)
        for k, scale in enumerate(VOLUME_SCALES):
            stretch = (scale / VOLUME_SCALES[0]) ** (1 / 3)  # of every length of the smallest cell
            inside = lengths * stretch < self.cutoff
            inputs = {"x": self.model.z_to_onehot_tensor.to(device)[z], "atomic_numbers": z,
                      "edge_index": index[:, inside], "edge_vec": (vectors[inside].double() * stretch).float(),
                      "batch": graph_of_atom}
            atomic = self.batched_energy_model(device)(inputs)[ATOMIC_ENERGY].double().flatten()
            energies[:, k].index_add_(0, graph_of_atom, atomic)
        volumes = batch[f"{self.key}_volume"].to(device)[graphs].double()
        vectors = stiffness_vectors(energies.cpu().numpy(), volumes.cpu().numpy())
        return torch.from_numpy(vectors.astype(np.float32)).to(device)

    def batched_energy_model(self, device: torch.device) -> nn.Module:
        """SevenNet-0's energy model for a batch of graphs on ``device`` (weights frozen), made
        once per device."""
        models = self.__dict__.setdefault("_batched_energy_models", {})
        if str(device) not in models:
            model = copy.deepcopy(self.model)
            model.set_is_batch_data(True)
            model.eval_type_map = False
            for parameter in model.parameters():
                parameter.requires_grad_(False)
            models[str(device)] = model.to(device).eval()
        return models[str(device)]


def graphs_edges(batch: Any, key: str, graphs: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The atoms (atomic numbers) of the ``graphs`` (positions in ``batch``), their SevenNet
    edges under ``key`` (index renumbered over those atoms, and vectors) and each atom's graph
    among ``graphs`` (sorted)."""
    atoms = torch.isin(batch.batch, graphs)
    index = batch[f"{key}_edge_index"]
    edges = atoms[index[0]]
    renumber = torch.cumsum(atoms, 0) - 1
    return (batch.z[atoms], renumber[index[:, edges]], batch[f"{key}_edge_vec"][edges],
            torch.searchsorted(graphs, batch.batch[atoms]))


def add_volume(graph: Any, key: str, structure: Structure | None) -> None:
    """A structure's volume (Å³, float64) on its graph as ``<key>_volume`` (1 without one)."""
    graph[f"{key}_volume"] = torch.tensor([structure.volume if structure is not None else 1.0],
                                          dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def shared_stiffness(cache_dir: str | None = None) -> SevenNetStiffness:
    return SevenNetStiffness(cache_dir)


SHEAR_KEY = "u_sevennet_shear"


# the Voigt component (e_xx, e_yy, e_zz, γ_yz, γ_xz, γ_xy) at each place of the strain tensor, and its
# weight there: shears are engineering strains, half of each in the two off-diagonal places
VOIGT_INDEX = torch.tensor([[0, 5, 4], [5, 1, 3], [4, 3, 2]])
VOIGT_WEIGHT = torch.tensor([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])


def voigt_strains(voigt: Tensor) -> Tensor:
    """The symmetric strain tensors (..., 3, 3) of Voigt vectors (..., 6), shears as engineering
    strains, so that the Hessian of the energy in these six numbers is V C in Voigt notation."""
    return voigt[..., VOIGT_INDEX.to(voigt.device)] * VOIGT_WEIGHT.to(voigt.device, voigt.dtype)


class SevenNetShear(SevenNetStiffness):
    """Structures -> [log10 clamped-ion Voigt shear modulus G_V (GPa)] of SevenNet-0.

    The clamped-ion elastic constants are the exact second derivatives of SevenNet-0's energy with
    respect to a homogeneous strain of the crystal, fractional coordinates fixed (every edge vector
    r -> (I + ε) r; the energy depends on the structure through its edge vectors only), by double
    backpropagation at ε = 0: C = (1/V) d²E/dε², six strain components, then G_V. No finite
    strain: finite differences (±2 % along six deformations, 13 energies) gave a number that moved by
    up to 0.005 in log10 with the crystal's orientation, from the fourth-order terms they carry
    (SevenNet's energy is far from quadratic even at 0.1 % strain for some crystals; silicon's C11
    from its stresses goes 158 -> 170 GPa as the strain goes 0.5 % -> 0.05 %). The derivative at zero strain is the
    same number for every cell, orientation and atom order of the crystal (1e-6 in log10 on the
    invariance test's crystals). The Hessian includes the terms of the residual stress (C + σ
    terms, as d²E/dε² does), which the invariant combination keeps invariant.

    Clamped ions overestimate shear where atoms would relax, and the potential's own shear is
    softer than DFT's: a *feature* for the heads, not a prediction (Spearman ~0.75
    against DFT G on mp_elastic). Clipped at 0.1 GPa (an unstable cell still gives a number).
    Not TorchScript: a frozen script has no double backward; 0.53 s per structure on one thread
    (``benchmarks/model_cost.py``, 100 real structures). :meth:`compute_batch` computes many
    structures' matrices in one pass on a device (``benchmarks/strain_hessian.py``). Two calls on one structure can differ
    by an ulp of the float32 result (~1e-7 relative; seen with two threads).
    """

    batched = True  # compute_batch: the Hessians of many structures in one pass (batched_hessians)
    # Edges of one batched pass. Its double backward keeps 356-416 kB per edge (float32; peak RSS
    # over passes of 3,498 and 12,696 edges of real structures, one CPU thread), so 20,000 edges
    # hold about 8 GB, on a GPU as on the CPU. Not yet tuned on a GPU, where bigger passes may be faster.
    pass_edges = 20_000

    def __init__(self, cache_dir: str | Path | None = None):
        super().__init__(None)
        self.key, self.n_features = SHEAR_KEY, 1
        self.spec = {**self.spec, "name": "sevennet_clamped_shear", "strain": "exact second derivative",
                     "n_features": 1}
        self.cache = self.own_cache(cache_dir, "clamped-shear")

    def script(self) -> nn.Module:
        """SevenNet-0's energy model as plain modules (double backward through it), weights frozen."""
        model = self.energy_model()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return model

    def elastic_matrix(self, structure: Structure) -> np.ndarray:
        """SevenNet-0's clamped-ion 6x6 Voigt matrix (GPa) at ``structure``, computed once per
        process for every featuriser that reads it (:class:`MatrixMemo`)."""
        return MATRICES.get(structure, self.strain_hessian)

    def strain_hessian(self, structure: Structure) -> np.ndarray:
        """The clamped-ion matrix itself: d²E/dε² at ε = 0 by double backpropagation, per volume."""
        from sevenn._keys import ATOMIC_ENERGY

        def energy(voigt: Tensor) -> Tensor:
            strained = dict(inputs)  # SevenNet's modules write into the dict: a fresh one per call
            strained["edge_vec"] = inputs["edge_vec"] @ (torch.eye(3) + voigt_strains(voigt))
            return self.scripted(strained)[ATOMIC_ENERGY].sum()

        # autograd on, also where a caller (prediction) runs under inference mode
        with torch.inference_mode(False), torch.enable_grad():
            inputs = self.graph_inputs(structure)
            hessian = torch.autograd.functional.hessian(energy, torch.zeros(6))
        return hessian.double().numpy() / structure.volume * EV_PER_A3_IN_GPA

    def add_batch_inputs(self, graph: Any, structure: Structure | None) -> None:
        """SevenNet's edges of ``structure`` (as the vector featuriser puts them) and its volume."""
        sevennet_features.SevenNetFeaturizer.add_batch_inputs(self, graph, structure)
        add_volume(graph, self.key, structure)

    def batched_hessians(self, batch: Any, graphs: Tensor) -> np.ndarray:
        """The clamped-ion matrices (n, 6, 6; GPa) of the ``graphs`` (positions in ``batch``, whose
        SevenNet edges :meth:`add_batch_inputs` added), in as few passes of
        :meth:`hessians_in_one_pass` as keep each under :attr:`pass_edges` edges (a structure with
        more edges than that gets a pass of its own)."""
        graphs = graphs.to(batch.z.device)
        sources = batch[f"{self.key}_edge_index"][0]
        counts = torch.bincount(batch.batch[sources], minlength=batch.num_graphs)[graphs].tolist()
        passes, current, edges = [], [], 0
        for position, count in enumerate(counts):
            if current and edges + count > self.pass_edges:
                passes.append(current)
                current, edges = [], 0
            current.append(position)
            edges += count
        passes.append(current)
        matrices = [self.hessians_in_one_pass(batch, graphs[torch.as_tensor(part, device=graphs.device)])
                    for part in passes if part]
        return np.concatenate(matrices) if matrices else np.zeros((0, 6, 6))

    def hessians_in_one_pass(self, batch: Any, graphs: Tensor) -> np.ndarray:
        """The clamped-ion matrices of the ``graphs`` in one pass: each graph g gets its own Voigt
        strain ε_g, every edge vector r of g becomes r (I + ε_g), and the energy of all of them is
        differentiated twice. The graphs do not interact, so its Hessian in all the ε is
        block-diagonal, and six backward passes of the gradient's columns give every block: the
        same d²E/dε² as :meth:`strain_hessian`, one structure at a time."""
        from sevenn._keys import ATOMIC_ENERGY

        device = batch.z.device
        graphs = graphs.to(device)
        with torch.inference_mode(False), torch.enable_grad():
            # copies made outside inference mode: autograd cannot save inference tensors
            z, edge_index, edge_vec, graph_of_atom = (t.clone() for t in graphs_edges(batch, self.key, graphs))
            voigt = torch.zeros(len(graphs), 6, device=device, dtype=edge_vec.dtype, requires_grad=True)
            deformation = torch.eye(3, device=device, dtype=edge_vec.dtype) + voigt_strains(voigt)
            strained = torch.bmm(edge_vec.unsqueeze(1), deformation[graph_of_atom[edge_index[0]]]).squeeze(1)
            inputs = {"x": self.model.z_to_onehot_tensor.to(device)[z], "atomic_numbers": z,
                      "edge_index": edge_index, "edge_vec": strained, "batch": graph_of_atom}
            energy = self.batched_energy_model(device)(inputs)[ATOMIC_ENERGY].sum()
            hessians = torch.zeros(len(graphs), 6, 6, device=device, dtype=torch.float64)
            (gradient,) = torch.autograd.grad(energy, voigt, create_graph=True, allow_unused=True)
            if gradient is not None and gradient.requires_grad:  # else no edges: no strain energy
                for k in range(6):  # row k is d(dE/dε_k)/dε
                    (row,) = torch.autograd.grad(gradient[:, k].sum(), voigt, retain_graph=k < 5, allow_unused=True)
                    if row is not None:
                        hessians[:, k] = row.double()
        volumes = batch[f"{self.key}_volume"].to(device)[graphs].double()
        return (hessians / volumes[:, None, None] * EV_PER_A3_IN_GPA).cpu().numpy()

    def compute_batch(self, batch: Any, graphs: Tensor) -> Tensor:
        """The vectors (float32, on the batch's device) of the ``graphs`` (positions in
        ``batch``): the matrices from the memo where a featuriser already has them, the others
        from :meth:`batched_hessians`. A vector that is not finite is left so (the caller rejects
        that structure)."""
        positions = graphs.tolist()
        keys = [batch.structure_key[i] for i in positions]
        matrices = MATRICES.get_many(keys, lambda missing: self.batched_hessians(
            batch, graphs[torch.as_tensor(missing, dtype=torch.long, device=graphs.device)]))
        vectors = np.stack([self.vector_of(matrix) for matrix in matrices]).astype(np.float32)
        return torch.from_numpy(vectors).to(batch.z.device)

    def vector_of(self, matrix: np.ndarray) -> np.ndarray:
        """This featuriser's numbers from a clamped-ion matrix: log10 G_V (GPa, clipped at 0.1)."""
        return np.array([np.log10(max(voigt_shear_modulus(matrix), 0.1))])

    def compute_one(self, structure: Structure) -> np.ndarray:
        self.check(structure)
        vector = self.vector_of(self.elastic_matrix(structure))
        if not np.all(np.isfinite(vector)):
            raise ValueError(f"SevenNet clamped-ion features ({self.spec['name']}) are not finite")
        return vector.astype(np.float32)


class MatrixMemo:
    """The clamped-ion matrices of the last ``size`` structures, by content (``structure_key``).

    Several featurisers read the one strain Hessian of a structure (the shear modulus of
    ``sevennet_elastic_mlp``, the invariants of ``sevennet_kelvin_mlp``); a bundle that mixes
    them, or the accurate pair predicting K and G of one chunk, would otherwise pay the 0.5 s
    Hessian once per featuriser. ``size`` is above predict.py's default chunk (10,000), so every
    featuriser of a chunk finds the matrices the first one made (36 numbers and a key each, ~13 MB full).
    A Hessian is one answer per structure: every reader gets the same numbers, bit for bit."""

    def __init__(self, size: int = 20_000):
        self.size = size
        self.matrices: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, structure: Structure, compute) -> np.ndarray:
        """The matrix of ``structure``: from the memo, else ``compute(structure)``."""
        return self.get_many([structure_key(structure)], lambda missing: [compute(structure)])[0]

    def get_many(self, keys: list[str], compute) -> list[np.ndarray]:
        """The matrices of ``keys``: those in the memo, and ``compute(positions)`` (one matrix per
        position in ``keys`` whose key the memo lacks, each such key once) for the rest, in one call."""
        with self.lock:
            found = {k: self.matrices[k].copy() for k in keys if k in self.matrices}
            for key in found:
                self.matrices.move_to_end(key)
        first = {}  # a structure listed twice is computed once
        for position, key in enumerate(keys):
            if key not in found:
                first.setdefault(key, position)
        if first:
            computed = compute(list(first.values()))
            with self.lock:
                for key, matrix in zip(first, computed):
                    self.matrices[key] = found[key] = matrix
                while len(self.matrices) > self.size:
                    self.matrices.popitem(last=False)
        return [found[key].copy() for key in keys]

    def clear(self) -> None:
        with self.lock:
            self.matrices.clear()


MATRICES = MatrixMemo()


@functools.lru_cache(maxsize=None)
def shared_shear(cache_dir: str | None = None) -> SevenNetShear:
    return SevenNetShear(cache_dir)



KELVIN_KEY = "u_sevennet_kelvin"


def signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x) log10(1 + |x|): a log scale for moduli in GPa that keeps negative ones finite."""
    return np.sign(values) * np.log10(1 + np.abs(values))


class SevenNetKelvin(SevenNetShear):
    """Structures -> [log10 G_V, log10 K_V, 6 signed-log Kelvin moduli] of SevenNet-0's
    clamped-ion elastic matrix (8 numbers, one strain Hessian), through an optional disk cache."""

    def __init__(self, cache_dir: str | Path | None = None):
        super().__init__(None)
        self.key, self.n_features = KELVIN_KEY, 8
        self.spec = {**self.spec, "name": "sevennet_clamped_invariants", "n_features": 8,
                     "numbers": "log10 G_V, log10 K_V, sorted Kelvin moduli as sign(x) log10(1 + |x|)"}
        self.cache = self.own_cache(cache_dir, "clamped-invariants")

    def vector_of(self, matrix: np.ndarray) -> np.ndarray:
        averages = [np.log10(max(voigt_shear_modulus(matrix), 0.1)), np.log10(max(voigt_bulk_modulus(matrix), 0.1))]
        return np.concatenate([averages, signed_log(kelvin_moduli(matrix))])


@functools.lru_cache(maxsize=None)
def shared_kelvin(cache_dir: str | None = None) -> SevenNetKelvin:
    return SevenNetKelvin(cache_dir)
