#!/usr/bin/env bash
# Train the bundled ensembles: paper settings on all of mp_elastic (fixed 90/10 split, seed 42),
# members differing in `seed`. Usage (repo root): bash experiments/2026-11-25_bundled_models/run.sh [SEEDS...] (default 0 1 2 3)
# Runs one process at a time (2 cores). Each run writes runs/<target>/seed<k>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=experiments/2026-11-25_bundled_models
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
seeds=("${@:-0 1 2 3}")
for seed in ${seeds[@]}; do
  for target in log10_k_vrh log10_g_vrh; do
    dir=$here/runs/$target/seed$seed
    if [ -f "$dir/metrics.json" ]; then echo "done: $dir"; continue; fi
    echo "$(date -u +%FT%TZ) start $target seed $seed"
    start=$(date +%s)
    .venv/bin/python train.py experiment=mp_elastic_bundle data.target=$target seed=$seed \
        logger=csv trainer.enable_progress_bar=false hydra.run.dir=$dir > "$here/log_${target}_seed$seed.txt" 2>&1
    echo "$(date -u +%FT%TZ) end $target seed $seed: $(( $(date +%s) - start )) s"
  done
done
