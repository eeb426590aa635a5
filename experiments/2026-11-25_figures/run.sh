#!/usr/bin/env bash
# The paper's figure set from the recorded real runs (repo root, MODULI_DATA_DIR=../shared/data).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
PYTHON=${PYTHON:-.venv/bin/python}
exp=experiments
$PYTHON -m moduli.analysis.report --out "$here/figures" \
  --predictions $exp/2026-11-24_predict_screened/dielectric_mp/predictions.parquet \
  --predictions $exp/2026-11-24_predict_screened/wbm/predictions.parquet \
  --dataset mp_elastic \
  --runs $exp/2026-11-24_mp_elastic_5fold/runs --runs $exp/2026-11-25_tuned_5fold/runs --parity-fold 0
# Parity plots of fold 0 (the model comparison uses all folds); then the same with GPa axes
# (MAE / R² in GPa).
$PYTHON -m moduli.analysis.report --out "$here/figures_gpa" --scale gpa \
  --runs $exp/2026-11-24_mp_elastic_5fold/runs/log10_g_vrh/cgcnn_fold0 \
  --runs $exp/2026-11-24_mp_elastic_5fold/runs/log10_k_vrh/cgcnn_fold0
