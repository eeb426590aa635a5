"""End-to-end predict.py throughput and peak memory for 1k, 10k and 50k structures.

Corpora are real structures (WBM + matminer dielectric, 2,028 in all) replicated with small
random displacements (0.01 Å rms per coordinate) up to the size, written as JSON Lines
(``.jsonl.gz``, streamed) and as a folder of CIF files. Each size runs ``predict.py`` in a fresh
process (screen=none, bulk + shear models, figures=false: benchmarks/report.py times those)
while a sampler adds up the RSS of the whole process tree (main + DataLoader workers) every
0.1 s.

Prints, per format and size: wall time of the whole command (imports included), the pipeline's
own time from screening.json, structures/s for both, and peak memory. Goals on 2 cores:
>= 1,000 structures/s from JSON; peak RSS flat from 10k to 50k. Each pair starts with an empty
feature cache of its own; ``--again`` runs it a second time on the same corpus and cache (the
foundation-model features are then read, not computed) and prints how much faster that was.

On a GPU machine ``--gpu`` also samples every GPU through NVML (``pynvml``) every 0.1 s: the
mean utilisation over the whole command and over its busy window (first to last sample with a
kernel running: imports and parsing before the first batch left out), and the peak memory used on
the GPUs (CUDA contexts included). Pass ``trainer.accelerator=gpu`` (and ``trainer.devices=N
trainer.strategy=ddp`` for several) as overrides.

    MODULI_DATA_DIR=../shared/data .venv/bin/python benchmarks/predict.py [--sizes 1000 10000 50000]
        [--pair BULK SHEAR ...]   # several model pairs, one after the other in one run
        [--gpu] [overrides ...]   # e.g. trainer.accelerator=gpu
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from pymatgen.core import Structure

from moduli.core.assets import fetch
from moduli.core.structures import read_json, table_rows

REPO = Path(__file__).resolve().parents[1]


def base_structures() -> list[dict]:
    wbm = read_json(fetch_path("wbm_random_972_structures_matcalc.json.gz"))
    dielectric = table_rows(read_json(fetch_path("matminer_dielectric_constant_bandgap.json.gz")))
    return [row["structure"] for row in wbm] + [row["structure"] for row in dielectric]


def fetch_path(name: str) -> Path:
    import os

    return Path(os.environ["MODULI_DATA_DIR"]) / name


def replicas(bases: list[dict], n: int, seed: int = 0):
    """``n`` structure dicts: the bases in turn, each copy with displaced fractional coordinates."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        base = bases[i % len(bases)]
        copy_ = copy.deepcopy(base)
        inverse = np.linalg.inv(np.array(base["lattice"]["matrix"]))
        for site in copy_["sites"]:
            shift = rng.normal(0.0, 0.01, 3) @ inverse
            site["abc"] = (np.array(site["abc"]) + shift).tolist()
            site.pop("xyz", None)
        yield f"bench-{i:06d}", copy_


def write_jsonl(path: Path, bases, n: int) -> None:
    with gzip.open(path, "wt") as handle:
        for mid, structure in replicas(bases, n):
            handle.write(json.dumps({"material_id": mid, "structure": structure}) + "\n")


def write_cifs(folder: Path, bases, n: int) -> None:
    folder.mkdir(parents=True)
    for mid, structure in replicas(bases, n):
        (folder / f"{mid}.cif").write_text(Structure.from_dict(structure).to(fmt="cif"))


class GpuSampler:
    """Utilisation (% of time a kernel ran, NVML's own window) and memory used of every GPU."""

    def __init__(self):
        import pynvml

        pynvml.nvmlInit()
        self.nvml = pynvml
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        self.busy: list[float] = []
        self.peak = 0

    def sample(self) -> None:
        busy = [self.nvml.nvmlDeviceGetUtilizationRates(h).gpu for h in self.handles]
        self.busy.append(sum(busy) / len(busy))
        self.peak = max(self.peak, sum(self.nvml.nvmlDeviceGetMemoryInfo(h).used for h in self.handles))

    def summary(self) -> dict:
        busy = np.array(self.busy or [0.0])
        running = np.flatnonzero(busy)
        window = busy[running[0]:running[-1] + 1] if len(running) else busy
        return {"gpu_busy": float(busy.mean()), "gpu_busy_window": float(window.mean()),
                "gpu_peak_mb": self.peak / 2**20}


def run(out: Path, corpus_args: list[str], bulk: str, shear: str, workers: int,
        overrides: list[str] = (), gpu: bool = False) -> dict:
    command = [sys.executable, "predict.py", *corpus_args, "screen=none", f"ckpt.bulk={bulk}",
               f"ckpt.shear={shear}", f"hydra.run.dir={out}", "progress=false", "figures=false",
               f"num_workers={workers}", *overrides]
    start = time.perf_counter()
    process = psutil.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    sampler = GpuSampler() if gpu else None
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        if sampler:
            sampler.sample()
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(process.stderr.read().decode()[-3000:])
    summary = json.loads((out / "screening.json").read_text())
    return {"wall": wall, "pipeline": summary["seconds"], "predicted": summary["predicted"],
            "peak_mb": peak / 2**20, **(sampler.summary() if sampler else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--formats", nargs="+", default=["jsonl", "cif"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bulk", help="bulk model (default: the original CGCNN's, from MODULI_DATA_DIR)")
    parser.add_argument("--shear", help="shear model (default: the original CGCNN's)")
    parser.add_argument("--pair", nargs=2, action="append", metavar=("BULK", "SHEAR"),
                        help="models to compare in this one run (repeatable; replaces --bulk/--shear), "
                             "e.g. --pair mp-elastic-k mp-elastic-g --pair mp-elastic-k-fast mp-elastic-g-fast")
    parser.add_argument("--again", action="store_true",
                        help="run every pair a second time on the same corpus and feature cache")
    parser.add_argument("--gpu", action="store_true",
                        help="also sample the GPUs (NVML): busy %% over the command and its busy window, peak memory")
    parser.add_argument("overrides", nargs="*", help="more predict.py overrides, e.g. torch_threads=2")
    args = parser.parse_args()
    pairs = args.pair or [(args.bulk or str(fetch("cgcnn_bulk_moduli")), args.shear or str(fetch("cgcnn_shear_moduli")))]
    bases = base_structures()
    print(f"{len(bases)} real base structures; workers={args.workers}; overrides {args.overrides}; models (bulk + shear): "
          + "; ".join(f"{Path(b).name} + {Path(s).name}" for b, s in pairs))
    gpu_columns = f" {'GPU busy %':>10} {'in window':>9} {'GPU peak MB':>11}" if args.gpu else ""
    print(f"{'models':36} {'format':6} {'n':>7} {'wall s':>8} {'wall /s':>9} {'pipeline s':>11} "
          f"{'pipeline /s':>12} {'peak PSS MB':>12}{gpu_columns}")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for fmt in args.formats:
            for n in args.sizes:
                if fmt == "jsonl":
                    corpus = scratch / f"corpus-{n}.jsonl.gz"
                    write_jsonl(corpus, bases, n)
                    corpus_args = ["corpus=structures_json", f"corpus.path={corpus}",
                                   "corpus.band_gap_column=null"]
                else:
                    corpus = scratch / f"cifs-{n}"
                    write_cifs(corpus, bases, n)
                    corpus_args = ["corpus=files", f"corpus.path={corpus}"]
                for k, (bulk, shear) in enumerate(pairs):
                    cache = [f"paths.cache_dir={scratch / f'cache-{fmt}-{n}-{k}'}"]
                    models = f"{Path(bulk).name} + {Path(shear).name}"
                    runs = ("first", "again") if args.again else ("first",)
                    for attempt in runs:
                        result = run(scratch / f"out-{fmt}-{n}-{k}-{attempt}", corpus_args, bulk, shear,
                                     args.workers, [*cache, *args.overrides], args.gpu)
                        assert result["predicted"] == n, result
                        label = models if attempt == "first" else "  the same again (cache warm)"
                        print(f"{label:36} {fmt:6} {n:7d} {result['wall']:8.1f} {n / result['wall']:9.0f} "
                              f"{result['pipeline']:11.1f} {n / result['pipeline']:12.0f} "
                              f"{result['peak_mb']:12.0f}{gpu_line(result)}", flush=True)
                        if attempt == "first":
                            first = result
                    if args.again:
                        print(f"  second run: {first['pipeline'] / result['pipeline']:.1f}x the first's "
                              f"throughput (pipeline), {first['wall'] / result['wall']:.1f}x (wall)", flush=True)


def gpu_line(result: dict) -> str:
    if "gpu_busy" not in result:
        return ""
    return f" {result['gpu_busy']:10.0f} {result['gpu_busy_window']:9.0f} {result['gpu_peak_mb']:11.0f}"


if __name__ == "__main__":
    main()
