#!/usr/bin/env bash
# Issue 19: rebuild mp-elastic-k / mp-elastic-g as the 2 recipe CGCNN members (as shipped since
# d4f16dd, restored from the package) + the 5 SevenNet-feature heads of run_heads.sh of one head
# setting, weights chosen on validation; cross-validation: the recipe CGCNN fold runs
# (../2026-11-25_accuracy, 2 seeds) + that setting's fold heads (5 seeds: sevennet_mlp in
# ../2026-11-30_sevennet, the others in ../2026-11-30_levers). Also the fast bundles
# mp-elastic-k-fast / mp-elastic-g-fast: the 2 CGCNN members alone (no foundation model to run).
#   bash experiments/2026-11-30_sevennet_bundles/build.sh [OUT [SETTING]]   # the package, sevennet_extra
# HEADS (default 5): how many heads (seeds 0..HEADS-1) of the setting, in the bundle and in every fold.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
out=${1:-src/moduli/models/bundled}
setting=${2:-sevennet_extra}
seeds=$(seq -s, 0 $(( ${HEADS:-5} - 1 )))
here=experiments/2026-11-30_sevennet_bundles
cgcnn=experiments/2026-11-25_mixed_bundles/runs
folds=experiments/2026-11-25_accuracy/runs
heads=experiments/2026-11-30_levers/runs
[ "$setting" = sevennet_mlp ] && heads=experiments/2026-11-30_sevennet/runs
case $setting in  # how run_heads.sh made the bundle heads of the setting
  sevennet_mlp) made="run_heads.sh" ;;
  sevennet_extra) made="run_heads.sh sevennet_extra 'data.extra_train=[brgoch_new]'" ;;
  *) made="run_heads.sh $setting OVERRIDES (see README.md)" ;;
esac
.venv/bin/python experiments/2026-11-25_mixed_bundles/restore_cgcnn_members.py d4f16dd
for pair in "k log10_k_vrh recipe_a" "g log10_g_vrh recipe_tl"; do
  set -- $pair
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1 --out "$out" \
    --runs $cgcnn/$2/recipe_seed{0,1} $(eval echo $here/runs/$2/${setting}_bundle_seed{$seeds}) \
    --folds $folds/$2/${3}_fold{0,1,2,3,4}_seed{0,1} $(eval echo $heads/$2/${setting}_fold{0,1,2,3,4}_seed{$seeds}) \
    --command "${HEADS:+SEEDS=\"$(seq -s ' ' 0 $(( HEADS - 1 )))\" }bash $here/$made && ${HEADS:+HEADS=$HEADS }bash $here/build.sh src/moduli/models/bundled $setting  # see $here/README.md"
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1-fast --out "$out" \
    --runs $cgcnn/$2/recipe_seed{0,1} --folds $folds/$2/${3}_fold{0,1,2,3,4}_seed{0,1} \
    --command "bash $here/build.sh  # see $here/README.md (CGCNN members only)"
done
rm -r $cgcnn/*/*/checkpoints  # the restored copies
