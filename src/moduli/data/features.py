"""Precompute the CHGNet features of a training source into the cache, once.

    python -m moduli.data.features [--source mp_elastic] [--data-dir DIR] [--cache-dir DIR]

Prints the number of vectors, how many came from the cache, the rejections and the time, so
the cost of the features is measured where they are made. Training and prediction read the same
cache (``<cache dir>/chgnet-<version>-<weights>.sqlite``).
"""
from __future__ import annotations

import argparse
import time

from moduli.core.assets import default_cache_dir
from moduli.data import sources
from moduli.graphs.featurizer import structure_key
from moduli.graphs.universal import CHGNetFeaturizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="CHGNet features of a training source into the cache")
    parser.add_argument("--source", choices=sorted(sources.NAMED_SOURCES), default="mp_elastic")
    parser.add_argument("--data-dir", default=None, help="data folder (default: MODULI_DATA_DIR)")
    parser.add_argument("--cache-dir", default=None, help="cache folder (default: MODULI_CACHE_DIR)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    records, _ = sources.load_named(args.source, args.data_dir)
    featurizer = CHGNetFeaturizer(args.cache_dir or default_cache_dir(), args.batch_size)
    cached = len(featurizer.cache.get_many(sorted({structure_key(r.structure) for r in records})))
    started = time.perf_counter()
    vectors, rejections = featurizer.featurize(records)
    seconds = time.perf_counter() - started
    print(f"{args.source}: {len(vectors)} vectors of {len(records)} records ({cached} from the cache, "
          f"{len(rejections)} rejected) in {seconds:.1f} s "
          f"({1e3 * seconds / max(1, len(records) - cached):.1f} ms per computed structure); "
          f"cache {featurizer.cache.path}")
    for rejection in rejections:
        print(f"  rejected {rejection.id}: {rejection.reason}")


if __name__ == "__main__":
    main()
