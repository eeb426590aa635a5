#!/usr/bin/env bash
# CGCNN members of the chosen recipes (issue 9) on the bundles' split (all of mp_elastic, fixed
# 90/10, data.seed=42): K recipe_a (experiment=mp_elastic_recipe), G recipe_tl (+ formation-energy
# initialisation, 0.3x lr for the copied layers).
#   bash experiments/2026-11-25_mixed_bundles/run_recipe.sh TARGET "SEEDS"
set -euo pipefail
cd "$(dirname "$0")/../.."
here=experiments/2026-11-25_mixed_bundles
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-disabled}
target=$1; seeds=$2
extra=""
[ "$target" = log10_g_vrh ] && extra="model.init_from=cgcnn_formation_energy model.optimizer.pretrained_lr_scale=0.3"
for seed in $seeds; do
  dir=$here/runs/$target/recipe_seed$seed
  if [ -f "$dir/metrics.json" ]; then echo "done: $dir"; continue; fi
  mkdir -p "$(dirname "$dir")"
  start=$(date +%s)
  # shellcheck disable=SC2086
  .venv/bin/python train.py experiment=mp_elastic_recipe task_name=recipe_bundle data.target=$target \
      data.fold=null "data.fractions=[0.9,0.1,0.0]" data.seed=42 seed=$seed $extra logger=csv \
      trainer.enable_progress_bar=false hydra.run.dir=$dir > "$dir.log" 2>&1
  echo "$(date -u +%FT%TZ) $target seed $seed: $(( $(date +%s) - start )) s, $(grep -o '"val/mae": [0-9.]*' "$dir/metrics.json")"
done
