"""Probe: clamped-ion Voigt K, G from CHGNet energies of strained cells."""
import os
from pathlib import Path
HERE = Path(__file__).resolve().parent
import sys, time, numpy as np, torch
torch.set_num_threads(1)
from chgnet.model import CHGNet
from moduli.data import sources
records, _ = sources.load_mp_elastic(os.environ["MODULI_DATA_DIR"])
n = int(sys.argv[1]); rng = np.random.default_rng(0)
idx = rng.choice(len(records), n, replace=False)
recs = [records[i] for i in idx]
model = CHGNet.load(verbose=False); model.eval()
D = 0.01
def strains():
    out = [np.zeros((3, 3))]
    for s in (D, -D):
        out.append(np.eye(3) * s)
        for i in range(3):
            e = np.zeros((3, 3)); e[i, i] = s; out.append(e)
        for (i, j) in ((1, 2), (0, 2), (0, 1)):
            e = np.zeros((3, 3)); e[i, j] = e[j, i] = s / 2; out.append(e)
    return out
S = strains()
structs = []
for r in recs:
    for e in S:
        st = r.structure.copy()
        F = np.eye(3) + e
        st.lattice = st.lattice.__class__(st.lattice.matrix @ F.T)
        structs.append(st)
t = time.perf_counter()
preds = model.predict_structure(structs, task="e", batch_size=64)
dt = time.perf_counter() - t
print(f"{n} structures x {len(S)} cells: {dt:.1f} s, {1e3*dt/n:.0f} ms per structure")
E = np.array([p["e"] for p in preds]).reshape(n, len(S))
nat = np.array([len(r.structure) for r in recs]); vol = np.array([r.structure.volume for r in recs])
Etot = E * nat[:, None]
def second(k):  # index of + strain k (0..6) and - strain
    return (Etot[:, 1 + k] + Etot[:, 8 + k] - 2 * Etot[:, 0]) / (D**2 * vol) * 160.2177
X = [second(k) for k in range(7)]
hyd, cii, c44 = X[0], X[1] + X[2] + X[3], X[4] + X[5] + X[6]
kv = hyd / 9; cij = (hyd - cii) / 2
gv = (cii - cij + 3 * c44) / 15
yk = np.array([r.targets["log10_k_vrh"] for r in recs]); yg = np.array([r.targets["log10_g_vrh"] for r in recs])
from scipy.stats import spearmanr
for name, m, y in (("K", kv, yk), ("G", gv, yg)):
    ok = m > 0.5
    lm = np.log10(m[ok])
    a, b = np.polyfit(lm, y[ok], 1)
    print(name, f"positive {ok.mean():.3f}", "spearman", round(spearmanr(lm, y[ok])[0], 3),
          "raw MAE", round(np.abs(lm - y[ok]).mean(), 4), "fit MAE", round(np.abs(a*lm+b - y[ok]).mean(), 4), a, b)
