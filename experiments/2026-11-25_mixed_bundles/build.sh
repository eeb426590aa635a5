#!/usr/bin/env bash
# Build the mixed bundles mp-elastic-k / mp-elastic-g: the four CGCNN members of
# ../2026-11-25_bundled_models (paper settings, restored from the package by
# restore_cgcnn_members.py) + the five CHGNet-feature heads of run.sh, one weight per kind chosen
# on the shared validation split. Cross-validation in the cards: per fold, the paper-setting
# CGCNN (../2026-11-24_mp_elastic_5fold, seed 0) mixed with five heads (../2026-11-25_accuracy).
set -euo pipefail
cd "$(dirname "$0")/../.."
export MODULI_DATA_DIR="${MODULI_DATA_DIR:-$(cd .. && pwd)/shared/data}"
here=experiments/2026-11-25_mixed_bundles
old=experiments/2026-11-25_bundled_models/runs
heads=experiments/2026-11-25_accuracy/runs
five=experiments/2026-11-24_mp_elastic_5fold/runs
.venv/bin/python $here/restore_cgcnn_members.py
for pair in "k log10_k_vrh" "g log10_g_vrh"; do
  set -- $pair
  .venv/bin/python -m moduli.train.bundling --name mp-elastic-$1 \
    --runs $old/$2/seed{0,1,2,3} $here/runs/$2/heads_seed{0,1,2,3,4} \
    --folds $five/$2/cgcnn_fold{0,1,2,3,4} $heads/$2/chgnet_mlp_fold{0,1,2,3,4}_seed{0,1,2,3,4} \
    --command "bash $here/run.sh && bash $here/build.sh  # see $here/README.md"
done
rm -r $old/*/seed*/checkpoints
