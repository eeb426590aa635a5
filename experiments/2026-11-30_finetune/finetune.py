"""Fine-tune SevenNet-0 end to end on both moduli at once (issue 19, lever 5), one run per process.

    python finetune.py graphs DATA.npz GRAPHS.pt                  # SevenNet graphs of every structure
    python finetune.py train DATA.npz GRAPHS.pt RUN OUT_DIR [--budget-s S] [--lr-body LR] ...

``DATA.npz`` is what ``export.py`` writes (structures, targets, the parts of each run). A run
(``fold0`` ... ``fold4``, ``bundle``) trains :class:`moduli.models.finetuned_sevennet.FinetunedSevenNet`
with two outputs (log10 K, log10 G, each standardised with its training mean and std) on its
training part, L1 loss; the first ``--head-epochs`` epochs train the head alone (the body frozen),
then everything, the body at a lower rate, both on a cosine schedule. The number of epochs is
fitted to the wall-clock budget after the first full epoch (at most ``--epochs``). For each
target the epoch with the lowest validation MAE is kept: its validation and test predictions go to
``OUT_DIR/RUN_predictions.csv`` on every improvement (through a temp file), at the end those of
every part, training too; the
per-epoch history to ``OUT_DIR/RUN_history.csv``, and with ``--save`` its weights to
``OUT_DIR/RUN_<target>.pt``. Imports torch, sevenn and the network module only (loaded from its
file), so it runs on a GPU machine without moduli's other dependencies.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def network_module():
    """moduli.models.finetuned_sevennet, loaded from its file (no moduli package import)."""
    path = ROOT / "src/moduli/models/finetuned_sevennet.py"
    spec = importlib.util.spec_from_file_location("finetuned_sevennet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def structures(data: dict) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    ends = np.cumsum(data["n_atoms"])
    starts = ends - data["n_atoms"]
    return [(data["numbers"][a:b], data["positions"][a:b], data["cells"][i])
            for i, (a, b) in enumerate(zip(starts, ends))]


def _graph(args):
    numbers, positions, cell, cutoff = args
    return network_module().sevennet_graph_arrays(numbers, positions, cell, cutoff)


def build_graphs(data_path: str, out: str, workers: int) -> None:
    from multiprocessing import Pool

    data = dict(np.load(data_path))
    _, cutoff = network_module().pretrained_body()
    jobs = [(n, p, c, cutoff) for n, p, c in structures(data)]
    start = time.time()
    from sevenn.atom_graph_data import AtomGraphData

    with Pool(workers) as pool:
        graphs = [AtomGraphData.from_numpy_dict(arrays) for arrays in pool.map(_graph, jobs, chunksize=32)]
    torch.save(graphs, out + ".tmp")
    os.replace(out + ".tmp", out)
    edges = sum(g["edge_index"].shape[1] for g in graphs)
    print(f"{len(graphs)} graphs, {edges} edges, {time.time() - start:.1f} s", flush=True)


def write_csv(path: Path, header: str, rows: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + "\n" + "\n".join(rows) + "\n")
    os.replace(tmp, path)


def train(args: argparse.Namespace) -> None:
    from torch_geometric.loader import DataLoader

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("high")  # TF32 matrix products on GPUs that have them
    device = torch.device(args.device)
    data = dict(np.load(args.data))
    run_index = list(data["run_names"]).index(args.run)
    parts = data["parts"][run_index]
    ids, targets, names = data["ids"], data["targets"], list(data["target_names"])
    graphs = torch.load(args.graphs, weights_only=False)
    index = {part: np.flatnonzero(parts == code)[:args.limit or None]
             for part, code in (("train", 0), ("val", 1), ("test", 2))}
    mean = targets[index["train"]].mean(axis=0)
    std = targets[index["train"]].std(axis=0)
    for i, graph in enumerate(graphs):
        graph["y_norm"] = torch.tensor((targets[i] - mean) / std, dtype=torch.float32).unsqueeze(0)
        graph["row"] = torch.tensor([i])

    def loader(part: str, shuffle: bool) -> DataLoader:
        return DataLoader([graphs[i] for i in index[part]], batch_size=args.batch_size, shuffle=shuffle)

    module = network_module()
    body, _ = module.pretrained_body()
    net = module.FinetunedSevenNet(body, n_outputs=2, hidden=args.hidden, dropout=args.dropout).to(device)

    @torch.no_grad()
    def predict(part: str) -> tuple[np.ndarray, np.ndarray]:
        net.eval()
        rows, out = [], []
        for batch in loader(part, False):
            batch = batch.to(device)
            out.append(net(batch).float().cpu().numpy())
            rows.append(batch["row"].cpu().numpy())
        return np.concatenate(rows), np.concatenate(out) * std + mean

    with torch.no_grad():  # standardise the pooled inputs with the pretrained body's statistics
        net.eval()
        pooled = [net.pooled(b.to(device)) for b in loader("train", False)]
        net.fit_inputs(torch.cat(pooled))

    optimizer = torch.optim.AdamW([{"params": net.body_parameters(), "lr": args.lr_body},
                                   {"params": net.head_parameters(), "lr": args.lr_head}],
                                  weight_decay=args.weight_decay)
    base_lrs = [args.lr_body, args.lr_head]
    train_loader = loader("train", True)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    best = {name: math.inf for name in names}
    best_rows: dict[str, list[str]] = {}
    best_state: dict[str, dict] = {}
    best_epoch: dict[str, int] = {}
    joint = {"score": math.inf, "epoch": -1, "state": None}  # one epoch for both moduli: one network serves K and G
    history = []
    start, epochs, epoch_times = time.time(), args.epochs, []
    epoch = 0
    while epoch < epochs:
        tick = time.time()
        frozen = epoch < args.head_epochs
        net.body.requires_grad_(not frozen)
        progress = max(0, epoch - args.head_epochs) / max(1, epochs - args.head_epochs)
        for group, lr in zip(optimizer.param_groups, base_lrs):
            group["lr"] = (0.0 if frozen and group is optimizer.param_groups[0]
                           else lr * 0.5 * (1 + math.cos(math.pi * progress)))
        net.train()
        losses = []
        for batch in train_loader:
            batch = batch.to(device)
            loss = (net(batch) - batch["y_norm"]).abs().mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        predictions = {part: predict(part) for part in ("val", "test") if len(index[part])}
        row = {"epoch": epoch, "frozen": int(frozen), "train_loss": float(np.mean(losses))}
        improved = []
        for t, name in enumerate(names):
            for part, (rows, pred) in predictions.items():
                row[f"{part}_mae_{name}"] = float(np.abs(pred[:, t] - targets[rows, t]).mean())
            if row[f"val_mae_{name}"] < best[name]:
                best[name] = row[f"val_mae_{name}"]
                improved.append((t, name))
        row["val_mae_joint"] = float(sum(row[f"val_mae_{name}"] / std[t] for t, name in enumerate(names)))
        if row["val_mae_joint"] < joint["score"]:
            joint.update(score=row["val_mae_joint"], epoch=epoch,
                         state={k: v.detach().cpu().clone() for k, v in net.state_dict().items()})
        epoch_times.append(time.time() - tick)
        row["seconds"] = epoch_times[-1]
        history.append(row)
        write_csv(out_dir / f"{args.run}_history.csv", ",".join(history[0]),
                  [",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r.values()) for r in history])
        for t, name in improved:  # the validation and test predictions of each best epoch so far
            best_state[name] = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            best_epoch[name] = epoch
            best_rows[name] = [f"{ids[i]},{part},{name},{targets[i, t]:.6f},{p[t]:.6f}"
                               for part, (rows, pred) in predictions.items() for i, p in zip(rows, pred)]
        if improved:
            write_csv(out_dir / f"{args.run}_predictions.csv", "id,part,target,truth,prediction",
                      [line for name in names if name in best_rows for line in best_rows[name]])
        print(f"{args.run} epoch {epoch} ({epoch_times[-1]:.1f} s) " +
              " ".join(f"{k}={v:.4f}" for k, v in row.items() if "mae" in k or k == "train_loss"), flush=True)
        if epoch == args.head_epochs and args.budget_s:  # the first full epoch sets the count
            left = args.budget_s - (time.time() - start)
            epochs = min(args.epochs, epoch + 1 + int(left / epoch_times[-1]))
            print(f"{args.run}: {epochs} epochs fit the budget", flush=True)
        epoch += 1
    def save(name: str, state: dict, epoch: int) -> None:
        path = out_dir / f"{args.run}_{name}.pt"
        torch.save({"state_dict": state, "target": name, "epoch": epoch,
                    "target_names": names, "target_mean": mean.tolist(), "target_std": std.tolist(),
                    "args": vars(args)}, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)

    lines = []  # every part (training too) from each target's best state
    for t, name in enumerate(names):
        net.load_state_dict(best_state[name])
        for part in ("train", "val", "test"):
            if len(index[part]):
                rows, pred = predict(part)
                lines += [f"{ids[i]},{part},{name},{targets[i, t]:.6f},{p[t]:.6f}" for i, p in zip(rows, pred)]
        if args.save:
            save(name, best_state[name], best_epoch[name])
    if args.save:  # target "joint": the epoch with the lowest sum of standardised validation MAEs
        save("joint", joint["state"], joint["epoch"])
    write_csv(out_dir / f"{args.run}_predictions.csv", "id,part,target,truth,prediction", lines)
    print(f"{args.run} done: best val " + " ".join(f"{n}={v:.4f} (epoch {best_epoch[n]})" for n, v in best.items()) +
          f", joint epoch {joint['epoch']}, {time.time() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("graphs")
    g.add_argument("data")
    g.add_argument("out")
    g.add_argument("--workers", type=int, default=os.cpu_count())
    t = sub.add_parser("train")
    for name in ("data", "graphs", "run", "out"):
        t.add_argument(name)
    t.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    t.add_argument("--budget-s", type=float, default=0.0)
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--head-epochs", type=int, default=3)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr-body", type=float, default=1e-4)
    t.add_argument("--lr-head", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--dropout", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--save", action="store_true")
    t.add_argument("--limit", type=int, default=0, help="use only the first N records of each part (smoke tests)")
    args = parser.parse_args()
    if args.command == "graphs":
        build_graphs(args.data, args.out, args.workers)
    else:
        train(args)


if __name__ == "__main__":
    sys.exit(main())
