#!/usr/bin/env bash
# The tables of this record (summary.md): the paper-setting seed-0 runs of the 5-fold record,
# every run here, ensembles per setting and fold, and the CHGNet-head / CGCNN mixtures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
five=experiments/2026-11-24_mp_elastic_5fold/runs
.venv/bin/python -m moduli.analysis.folds \
  $five/log10_g_vrh/cgcnn_fold{0,1} $five/log10_k_vrh/cgcnn_fold{0,1} \
  $five/log10_g_vrh/xgb_fold{0,1} $five/log10_k_vrh/xgb_fold{0,1} \
  "$here/runs" --mix chgnet_mlp mp_elastic_paper --mix chgnet_mlp recipe_a --out "$here/summary.md"
