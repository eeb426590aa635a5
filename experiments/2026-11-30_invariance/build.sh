#!/usr/bin/env bash
# Rebuild mp-elastic-k / mp-elastic-g on cell-independent CHGNet features (issue 17): the same two
# CGCNN members as the shipped bundles (CGCNN features were already cell-independent; restored from
# the package at commit d4f16dd) + the five heads of run_heads.sh, weights chosen on validation;
# cross-validation: the same recipe CGCNN fold runs (../2026-11-25_accuracy, 2 seeds) + the new fold
# heads. The card gains the training domain (elements, nearest-neighbour distances, std range).
#   bash experiments/2026-11-30_invariance/build.sh [OUT]    # OUT defaults to the package
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
out=${1:-src/moduli/models/bundled}
here=experiments/2026-11-30_invariance
cgcnn=experiments/2026-11-25_mixed_bundles/runs
folds=experiments/2026-11-25_accuracy/runs
.venv/bin/python experiments/2026-11-25_mixed_bundles/restore_cgcnn_members.py d4f16dd
for pair in "k log10_k_vrh recipe_a" "g log10_g_vrh recipe_tl"; do
  set -- $pair
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1 --out "$out" \
    --runs $cgcnn/$2/recipe_seed{0,1} $here/runs/$2/heads_seed{0,1,2,3,4} \
    --folds $folds/$2/${3}_fold{0,1,2,3,4}_seed{0,1} $here/runs/$2/chgnet_mlp_fold{0,1,2,3,4}_seed{0,1,2,3,4} \
    --command "bash $here/run_heads.sh && bash $here/build.sh  # see $here/README.md"
done
rm -r $cgcnn/*/*/checkpoints  # the restored copies
