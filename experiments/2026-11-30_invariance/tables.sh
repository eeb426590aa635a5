#!/usr/bin/env bash
# 5-fold tables with the per-atom CHGNet heads (runs/), next to the same CGCNN runs as before:
# paper settings and XGBoost (../2026-11-24_mp_elastic_5fold), the chosen recipes, seeds 0-1
# (../2026-11-25_accuracy); mixtures with the weight chosen on each fold's validation split.
#   bash experiments/2026-11-30_invariance/tables.sh    # -> folds.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
five=experiments/2026-11-24_mp_elastic_5fold/runs
acc=experiments/2026-11-25_accuracy/runs
runs=()
for fold in 0 1 2 3 4; do
  for target in log10_g_vrh log10_k_vrh; do
    runs+=("$five/$target/cgcnn_fold$fold" "$five/$target/xgb_fold$fold")
    for seed in 0 1 2 3 4; do runs+=("$here/runs/$target/chgnet_mlp_fold${fold}_seed$seed"); done
  done
  for seed in 0 1; do
    runs+=("$acc/log10_g_vrh/recipe_tl_fold${fold}_seed$seed" "$acc/log10_k_vrh/recipe_a_fold${fold}_seed$seed")
  done
done
.venv/bin/python -m moduli.analysis.folds "${runs[@]}" \
  --mix recipe_tl chgnet_mlp --mix recipe_a chgnet_mlp --mix mp_elastic_paper chgnet_mlp --out "$here/folds.md"
