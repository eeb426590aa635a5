#!/usr/bin/env bash
# Build the mixed bundles mp-elastic-k / mp-elastic-g from CGCNN members + the five CHGNet-feature
# heads of run.sh, one weight per kind chosen on the shared validation split.
#   bash experiments/2026-11-25_mixed_bundles/build.sh recipe [OUT]   # the shipped bundles: 2 CGCNN
#       of the chosen recipes (run_recipe.sh); cross-validation: those recipes (2 seeds) + heads
#   bash experiments/2026-11-25_mixed_bundles/build.sh paper [OUT]    # the first mixed bundles: the 4
#       paper-setting CGCNN of ../2026-11-25_bundled_models (restored from the package by
#       restore_cgcnn_members.py); cross-validation: paper CGCNN (seed 0) + heads
# OUT defaults to the package (src/moduli/models/bundled).
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
kind=$1; out=${2:-src/moduli/models/bundled}
here=experiments/2026-11-25_mixed_bundles
old=experiments/2026-11-25_bundled_models/runs
folds=experiments/2026-11-25_accuracy/runs
five=experiments/2026-11-24_mp_elastic_5fold/runs
[ "$kind" = paper ] && .venv/bin/python $here/restore_cgcnn_members.py
for pair in "k log10_k_vrh recipe_a" "g log10_g_vrh recipe_tl"; do
  set -- $pair
  if [ "$kind" = paper ]; then
    members=($old/$2/seed{0,1,2,3}); cv=($five/$2/cgcnn_fold{0,1,2,3,4})
  else
    members=($here/runs/$2/recipe_seed{0,1}); cv=($folds/$2/${3}_fold{0,1,2,3,4}_seed{0,1})
  fi
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1 --out "$out" \
    --runs "${members[@]}" $here/runs/$2/heads_seed{0,1,2,3,4} \
    --folds "${cv[@]}" $folds/$2/chgnet_mlp_fold{0,1,2,3,4}_seed{0,1,2,3,4} \
    --command "bash $here/run.sh && bash $here/build.sh $kind  # see $here/README.md"
done
[ "$kind" = paper ] && rm -r $old/*/seed*/checkpoints
exit 0
