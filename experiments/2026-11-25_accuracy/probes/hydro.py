"""Probe (issue 9, lever 5): CHGNet clamped-ion bulk modulus K = V d2E/dV2 from energies at volume
strains 0, +-1 % (lattice scaled, fractional coordinates fixed), for all of mp_elastic. Writes hydro.npz
(log not needed: prints the time and the Spearman correlation with log10 K_VRH)."""
import os
from pathlib import Path
HERE = Path(__file__).resolve().parent
import time, numpy as np, torch
torch.set_num_threads(1)
from chgnet.model import CHGNet
from moduli.data import sources
records, _ = sources.load_mp_elastic(os.environ["MODULI_DATA_DIR"])
model = CHGNet.load(verbose=False); model.eval()
D = 0.01
structs = []
for r in records:
    for s in (0.0, D, -D):
        st = r.structure.copy(); st.scale_lattice(r.structure.volume * (1 + s) ** 3); structs.append(st)
t = time.perf_counter()
preds = model.predict_structure(structs, task="e", batch_size=64)
print("seconds", time.perf_counter() - t, flush=True)
E = np.array([p["e"] for p in preds]).reshape(-1, 3)
nat = np.array([len(r.structure) for r in records]); vol = np.array([r.structure.volume for r in records])
Et = E * nat[:, None]
kv = (Et[:, 1] + Et[:, 2] - 2 * Et[:, 0]) / (D**2 * vol) / 9 * 160.2177
p = -(Et[:, 1] - Et[:, 2]) / (2 * D) / (3 * vol) * 160.2177
np.savez(HERE / "hydro.npz", ids=np.array([r.id for r in records]), kv=kv, p=p, e=E[:, 0])
yk = np.array([r.targets["log10_k_vrh"] for r in records])
from scipy.stats import spearmanr
print("K positive", (kv > 0).mean(), "spearman", spearmanr(kv, yk)[0])
