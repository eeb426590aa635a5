"""Probe (issue 9, lever 5): does the CHGNet clamped-ion K (hydro.py) help the CHGNet-feature head?
The same MLP as model=chgnet_mlp (256x2 SiLU, dropout 0.1, AdamW 1e-3 / 0.01, L1, 100 epochs, best
val epoch), outside the project, on the splits of the recorded chgnet_mlp runs (folds 0-1, seeds
0-1), without and with [log10 K_clamped, P] appended to the 321 features."""
import os
from pathlib import Path
HERE = Path(__file__).resolve().parent
import sys, numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from moduli.data import sources
from moduli.features.chgnet import CHGNetFeaturizer  # moduli.graphs.universal when this probe ran
from moduli.core.assets import default_cache_dir
records, _ = sources.load_mp_elastic(os.environ["MODULI_DATA_DIR"])
f = CHGNetFeaturizer(default_cache_dir())
vec, rej = f.featurize(records)
h = np.load(HERE / "hydro.npz")
hyd = {i: (np.log10(max(k, 1.0)), p) for i, k, p in zip(h["ids"], h["kv"], h["p"])}
R = str(HERE.parent / "runs")
def run(target, fold, seed, extra):
    ids = {s: pd.read_csv(f"{R}/{target}/chgnet_mlp_fold{fold}_seed0/predictions/{s}.csv", dtype={"id": str}) for s in ("train","val","test")}
    def X(split):
        rows = []
        for i in ids[split]["id"]:
            v = vec[i]
            if extra: v = np.concatenate([v, hyd[i]])
            rows.append(v)
        return np.array(rows, np.float32), ids[split]["target"].to_numpy(np.float32)
    (xt, yt), (xv, yv), (xs, ys) = X("train"), X("val"), X("test")
    mu, sd = xt.mean(0), xt.std(0) + 1e-6; ym, ys_ = yt.mean(), yt.std()
    n = lambda x: torch.tensor((x - mu) / sd)
    xt, xv, xs = n(xt), n(xv), n(xs)
    torch.manual_seed(seed)
    d = xt.shape[1]
    net = torch.nn.Sequential(torch.nn.Linear(d,256), torch.nn.SiLU(), torch.nn.Dropout(0.1), torch.nn.Linear(256,256), torch.nn.SiLU(), torch.nn.Dropout(0.1), torch.nn.Linear(256,1))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=0.01)
    yt_t = torch.tensor((yt - ym) / ys_)
    best = (9, None)
    for ep in range(100):
        net.train(); perm = torch.randperm(len(xt))
        for b in range(0, len(xt), 64):
            idx = perm[b:b+64]
            loss = (net(xt[idx]).squeeze(1) - yt_t[idx]).abs().mean()
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad():
            pv = net(xv).squeeze(1).numpy() * ys_ + ym
            vm = np.abs(pv - yv).mean()
            if vm < best[0]:
                best = (vm, net(xs).squeeze(1).numpy() * ys_ + ym)
    return best[0], np.abs(best[1] - ys).mean()
for target in ("log10_k_vrh", "log10_g_vrh"):
    for extra in (False, True):
        res = [run(target, fold, seed, extra) for fold in (0, 1) for seed in (0, 1)]
        print(target, "extra" if extra else "base", "val %.4f test %.4f" % tuple(np.mean(res, axis=0)), flush=True)
