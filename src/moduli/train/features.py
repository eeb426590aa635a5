"""Precompute the per-structure vectors a head kind reads, for a training source, into the cache.

    python -m moduli.train.features [--kind chgnet_mlp] [--source mp_elastic] [--part K --parts N]
        [--data-dir DIR] [--cache-dir DIR] [--device cuda]

``--kind`` is any kind whose network reads per-structure vectors (CHGNet's ``chgnet_mlp``,
``sevennet_mlp``, ``sevennet_stiffness_mlp``, ...): each of its featurisers fills its own cache
file, which training and prediction read. ``--part K --parts N`` takes every N-th record from the
K-th, so N processes fill one cache side by side (one per core); ``--device cuda`` computes
SevenNet-0's vectors in batches on a GPU (the predicting module's batched code). Prints, per featuriser, the
number of vectors, how many came from the cache, the rejections and the time, so the cost of the
features is measured where they are made.
"""
from __future__ import annotations

import argparse
import time

from moduli.core.assets import default_cache_dir
from moduli.data import sources
from moduli.graphs.featurizer import structure_key
from moduli.models.kinds import KINDS, kind_named
from moduli.models.kinds.feature_heads import VectorHeadKind


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    vector_kinds = sorted(n for n, k in KINDS.items() if isinstance(k, VectorHeadKind))
    parser = argparse.ArgumentParser(
        prog=prog, description="per-structure vectors of a training source into the cache",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  moduli features --kind sevennet_mlp                       # SevenNet-0 vectors of mp_elastic\n"
        "  moduli features --kind chgnet_mlp --part 0 --parts 2 &   # CHGNet's, two processes\n"
        "  moduli features --kind chgnet_mlp --part 1 --parts 2")
    parser.add_argument("--kind", choices=vector_kinds, default="chgnet_mlp")
    parser.add_argument("--source", choices=sorted(sources.NAMED_SOURCES), default="mp_elastic")
    parser.add_argument("--part", type=int, default=0, help="take records part, part + parts, ...")
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--data-dir", default=None, help="data folder (default: MODULI_DATA_DIR)")
    parser.add_argument("--cache-dir", default=None, help="cache folder (default: MODULI_CACHE_DIR)")
    parser.add_argument("--device", default=None,
                        help="compute SevenNet-0's vectors in batches on this device (e.g. cuda); "
                             "default: one structure at a time on the CPU")
    args = parser.parse_args(argv)
    if not 0 <= args.part < args.parts:
        parser.error(f"--part must be in 0..{args.parts - 1}, got {args.part}")
    records, _ = sources.load_named(args.source, args.data_dir)
    records = records[args.part::args.parts]
    for featurizer in kind_named(args.kind).featurizers(str(args.cache_dir or default_cache_dir())):
        cached = len(featurizer.cache.get_many(sorted({structure_key(r.structure) for r in records})))
        started = time.perf_counter()
        batched = args.device is not None and getattr(featurizer, "batched", False)
        vectors, rejections = (featurizer.featurize(records, device=args.device) if batched
                               else featurizer.featurize(records))
        seconds = time.perf_counter() - started
        print(f"{args.source} ({featurizer.spec['name']}): {len(vectors)} vectors of {len(records)} records "
              f"({cached} from the cache, {len(rejections)} rejected) in {seconds:.1f} s "
              f"({1e3 * seconds / max(1, len(records) - cached):.1f} ms per computed structure); "
              f"cache {featurizer.cache.path}")
        for rejection in rejections:
            print(f"  rejected {rejection.id}: {rejection.reason}")


if __name__ == "__main__":
    main()
