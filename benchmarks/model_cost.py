"""What each model kind costs per structure, and each bundled model, on one thread.

The same real structures (matminer dielectric set, default 300) through every step a prediction
takes: the crystal graph (every kind), then each foundation-model featuriser (CHGNet, SevenNet-0
mean, SevenNet-0 mean + std and, for comparison, its layers not scripted, SevenNet-0's clamped-ion
bulk modulus, its clamped-ion shear modulus and the invariants of its clamped-ion elastic matrix),
each without its cache, and one
fine-tuned SevenNet-0 network end to end (crystal graph, SevenNet's graph, forward pass); then
every bundled model's ``predict`` end to end from structures (graphs, features, all members),
one thread, no workers. Prints
milliseconds per structure. ``benchmarks/predict.py`` measures the whole pipeline with workers.

    MODULI_DATA_DIR=../shared/data .venv/bin/python benchmarks/model_cost.py [--n 300]
"""
from __future__ import annotations

import argparse
import os
import time

# one thread for every library, not only torch's own pool (set before numpy and torch load)
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import torch  # noqa: E402

from moduli.core.structures import parse_structure, read_json, table_rows  # noqa: E402


def per_structure_ms(function, structures) -> float:
    """Milliseconds per structure of one pass, each step paying its own strain Hessians (the
    process-wide memo of clamped-ion matrices emptied first: no step reads another's)."""
    from moduli.features.sevennet_clamped import MATRICES

    MATRICES.clear()
    start = time.perf_counter()
    function(structures)
    return (time.perf_counter() - start) / len(structures) * 1e3


def finetuned_model(graphs):
    """A fine-tuned SevenNet-0 model as prediction loads one (its cost does not depend on the
    weights): crystal graph, SevenNet's graph, the forward pass, in batches."""
    from moduli.core.normalizer import Normalizer
    from moduli.models.api import CrystalModel
    from moduli.models.kinds import kind_named

    kind, table, featurization = kind_named("sevennet_finetuned"), graphs.atom_table, graphs.params
    net = kind.build_network({}, torch.from_numpy(table.table), featurization.as_dict())
    return CrystalModel(net, Normalizer(0.0, 1.0), featurization, {"name": "log10_k_vrh", "units": "log10(GPa)"},
                        table, kind, kind.input_spec())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = os.path.join(os.environ["MODULI_DATA_DIR"], "matminer_dielectric_constant_bandgap.json.gz")
    rows = table_rows(read_json(path))[: args.n]
    structures = [parse_structure(r["structure"]) for r in rows]
    print(f"{len(structures)} real structures ({sum(len(s) for s in structures)} atoms), one thread; ms per structure")

    from moduli.graphs.atom_features import AtomFeatureTable
    from moduli.graphs.featurizer import CrystalGraphFeaturizer
    from moduli.features.chgnet import CHGNetFeaturizer
    from moduli.features.sevennet import LayerScalars, SevenNetFeaturizer

    graphs = CrystalGraphFeaturizer(AtomFeatureTable.cgcnn())
    steps = {"crystal graph (every kind)": lambda s: [graphs.graph(x) for x in s]}
    chgnet = CHGNetFeaturizer()
    steps["CHGNet features (chgnet_mlp)"] = lambda s: chgnet.compute(s)
    for definition, kind in ((1, "sevennet_mlp"), (2, "sevennet_meanstd_mlp")):
        featurizer = SevenNetFeaturizer(definition=definition)
        steps[f"SevenNet-0 d{definition} features ({kind})"] = \
            lambda s, f=featurizer: [f.compute_one(x) for x in s]
    eager = LayerScalars(featurizer.model).eval()  # what the featurisers script, run as plain modules

    def eager_layers(structures):
        with torch.inference_mode():
            return [eager(featurizer.graph_inputs(x)) for x in structures]

    steps["  the same layers not scripted (eager PyTorch)"] = eager_layers
    from moduli.features.sevennet_clamped import SevenNetShear, SevenNetStiffness

    stiffness, shear = SevenNetStiffness(), SevenNetShear()
    steps["SevenNet-0 clamped-ion K + P (sevennet_stiffness_mlp adds it)"] = \
        lambda s: [stiffness.compute_one(x) for x in s]
    steps["SevenNet-0 clamped-ion G_V (sevennet_elastic_mlp adds it)"] = \
        lambda s: [shear.compute_one(x) for x in s]
    from moduli.features.sevennet_clamped import SevenNetKelvin

    kelvin = SevenNetKelvin()
    steps["SevenNet-0 clamped-ion G_V, K_V, Kelvin moduli (sevennet_kelvin_mlp adds them)"] = \
        lambda s: [kelvin.compute_one(x) for x in s]
    steps["fine-tuned SevenNet-0, one network end to end (sevennet_finetuned)"] = finetuned_model(graphs).predict
    for name, step in steps.items():
        step(structures[:5])  # warm up
        print(f"  {name:44} {per_structure_ms(step, structures):8.2f}")

    import moduli

    for name in sorted(moduli.available_models()):
        model = moduli.load_model(name)
        model.predict(structures[:5])
        print(f"  bundled {name:36} {per_structure_ms(model.predict, structures):8.2f}  "
              f"({len(model.members)} members: {', '.join(k.name for k in model.kinds)})")


if __name__ == "__main__":
    main()
