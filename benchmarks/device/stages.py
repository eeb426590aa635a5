"""Where a bundled pair's prediction time goes, stage by stage: the profile behind
``benchmarks/predict.py``'s throughput, on a GPU or on the CPU.

Real structures (every k-th of the WBM and matminer dielectric sets, ``--n`` of them, at most
their 2,028) go
through what ``predict.py`` does, in batches of ``--batch-size``, each stage timed alone (the
device synchronised around it):

  graphs       per structure, one CPU process: the structure dict parsed, its crystal graph and
               every kind's inputs, the foundation-model features left to the device (what each
               DataLoader worker does, so the workers together go ``workers`` times as fast)
  collate      the graphs into a batch and onto the device
  <featuriser> each featuriser's ``compute_batch`` on the device (SevenNet-0's vectors, the
               clamped-ion energies, the strain Hessians; no cache)
  networks     the ensembles' members, their mean and std, the derived columns

Prints, per stage, seconds, structures/s of that stage alone and its share of the main
process's time (everything but ``graphs``). A first batch of 8 structures warms up (model copies
to the device, scripting) and is not counted.

    MODULI_DATA_DIR=... python3 benchmarks/device/stages.py --models default accurate --n 512 --device cuda
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from torch_geometric.data import Batch

from same_on_gpu import real_structures  # this folder's: every k-th of the same real structures

from moduli.cli import TIERS
from moduli.core.structures import parse_structure
from moduli.features.sevennet_clamped import MATRICES
from moduli.models.ensemble import modulus_columns, unique_kinds
from moduli.models.kinds.base import InputOptions
from moduli.models.table import complete_inputs, resolve_models, structure_row


class Clock:
    """Seconds per stage, the device synchronised before and after each."""

    def __init__(self, device: torch.device):
        self.device, self.seconds = device, defaultdict(float)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def timed(self, stage: str, function):
        def wrapper(*args, **kwargs):
            self.sync()
            start = time.perf_counter()
            result = function(*args, **kwargs)
            self.sync()
            self.seconds[stage] += time.perf_counter() - start
            return result
        return wrapper


def run(models: str, dicts: list[dict], batch_size: int, device: torch.device, counted: bool, clock: Clock) -> None:
    ensembles = resolve_models(*TIERS[models])
    for ensemble in ensembles.values():
        for member in ensemble.members:
            member.net.to(device).eval()
    kinds = unique_kinds(ensembles.values())
    options = InputOptions(None, on_device=True)
    featurizer = next(iter(ensembles.values())).featurizer
    for kind in kinds:  # each featuriser's batched pass, timed where complete_inputs calls it
        for feature in getattr(kind, "featurizers", lambda _: [])(None):
            if getattr(feature, "batched", False) and not hasattr(feature, "_untimed"):
                feature._untimed = feature.compute_batch
            if hasattr(feature, "_untimed"):
                stage = f"{feature.spec['name']} ({feature.key})"
                feature.compute_batch = clock.timed(stage, feature._untimed) if counted else feature._untimed
    for first in range(0, len(dicts), batch_size):
        start = time.perf_counter()
        rows = [structure_row(parse_structure(d), featurizer, kinds=kinds, options=options) for d in dicts[first:first + batch_size]]
        if counted:
            clock.seconds["graphs"] += time.perf_counter() - start
        collate = clock.timed("collate", lambda: Batch.from_data_list([g for g, _ in rows]).to(device))
        batch = collate() if counted else Batch.from_data_list([g for g, _ in rows]).to(device)
        with torch.inference_mode():
            failed = complete_inputs(kinds, batch, options)
            assert not failed, failed
            networks = clock.timed("networks", modulus_columns) if counted else modulus_columns
            networks(ensembles, batch, [cell for _, cell in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "accurate"], choices=sorted(TIERS))
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    dicts = [structure for _, structure in real_structures(args.n)]
    print(f"{len(dicts)} real structures, batches of {args.batch_size}, device {device}, "
          f"{torch.get_num_threads()} CPU threads")
    for models in args.models:
        MATRICES.clear()
        clock = Clock(device)
        run(models, dicts[:8], 8, device, False, clock)  # warm-up
        MATRICES.clear()
        run(models, dicts, args.batch_size, device, True, clock)
        main_process = sum(s for stage, s in clock.seconds.items() if stage != "graphs")
        print(f"{models}: {len(dicts) / main_process:.0f} structures/s in the main process "
              f"(graphs in the workers not counted)")
        for stage, seconds in clock.seconds.items():
            share = "" if stage == "graphs" else f"{100 * seconds / main_process:5.1f} %"
            print(f"  {stage:48} {seconds:8.2f} s {len(dicts) / seconds:10.0f} /s  {share}", flush=True)


if __name__ == "__main__":
    main()
