#!/usr/bin/env bash
# The final 5-fold table of issue 9 (final.md): per target, the CGCNN recipe chosen on folds 0-1
# validation (G: recipe_tl, K: recipe_a), the CHGNet-feature heads (seeds 0-4), their mixture
# (weight chosen on each fold's validation split), next to the paper settings (seed 0, the 5-fold
# record) and the best baseline (XGBoost); also the paper-setting CGCNN mixed with the heads (what the
# bundled mp-elastic-k / mp-elastic-g are). Seeds of the chosen CGCNN recipes: SEEDS (default "0").
#   bash experiments/2026-11-25_accuracy/final.sh          # -> final.md (one CGCNN seed)
#   bash experiments/2026-11-25_accuracy/final.sh "0 1"    # -> final_seeds_0_1.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
seeds=${1:-0}
out="$here/final.md"
[ "$seeds" = 0 ] || out="$here/final_seeds_${seeds// /_}.md"
five=experiments/2026-11-24_mp_elastic_5fold/runs
runs=()
for fold in 0 1 2 3 4; do
  for target in log10_g_vrh log10_k_vrh; do
    runs+=("$five/$target/cgcnn_fold$fold" "$five/$target/xgb_fold$fold")
    for seed in 0 1 2 3 4; do runs+=("$here/runs/$target/chgnet_mlp_fold${fold}_seed$seed"); done
  done
  for seed in $seeds; do
    runs+=("$here/runs/log10_g_vrh/recipe_tl_fold${fold}_seed$seed" "$here/runs/log10_k_vrh/recipe_a_fold${fold}_seed$seed")
  done
done
.venv/bin/python -m moduli.analysis.folds "${runs[@]}" \
  --mix recipe_tl chgnet_mlp --mix recipe_a chgnet_mlp --mix mp_elastic_paper chgnet_mlp --out "$out"
