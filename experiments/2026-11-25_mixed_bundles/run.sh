#!/usr/bin/env bash
# The CHGNet-feature heads of the bundled ensembles: model=chgnet_mlp on all of mp_elastic with the
# bundles' fixed 90/10 train/val split (data.seed=42, as experiment=mp_elastic_bundle), seeds 0-4.
#   bash experiments/2026-11-25_mixed_bundles/run.sh [SEEDS]
# A finished run is skipped. Then build the bundles (README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=experiments/2026-11-25_mixed_bundles
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
seeds=${1:-"0 1 2 3 4"}
for seed in $seeds; do
  for target in log10_k_vrh log10_g_vrh; do
    dir=$here/runs/$target/heads_seed$seed
    if [ -f "$dir/metrics.json" ]; then echo "done: $dir"; continue; fi
    mkdir -p "$(dirname "$dir")"
    start=$(date +%s)
    .venv/bin/python train.py model=chgnet_mlp task_name=chgnet_bundle data.target=$target \
        data.fold=null "data.fractions=[0.9,0.1,0.0]" data.seed=42 seed=$seed logger=csv \
        trainer.enable_progress_bar=false hydra.run.dir=$dir > "$dir.log" 2>&1
    echo "$(date -u +%FT%TZ) $target seed $seed: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$dir/metrics.json")"
  done
done
