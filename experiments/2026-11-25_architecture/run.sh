#!/usr/bin/env bash
# Behaviour check of the restructuring (issue 11): the same commands before and after, into OUT.
#   bash run.sh OUT_DIR     (repo root's .venv; MODULI_DATA_DIR or ../shared/data)
# then  python compare.py BEFORE_DIR AFTER_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
out=$(realpath -m "$1")
export MODULI_DATA_DIR=${MODULI_DATA_DIR:-$(realpath ../shared/data)} WANDB_MODE=disabled
py=.venv/bin/python
$py "$here/make_corpora.py" "$MODULI_DATA_DIR" "$out/corpora"
$py predict.py corpus=structures_json corpus.path="$out/corpora/corpus.json.gz" write_csv=true \
  progress=false hydra.run.dir="$out/predict_json"
$py predict.py corpus=files corpus.path="$out/corpora/cif_dir" screen=none write_csv=true \
  progress=false figures=false hydra.run.dir="$out/predict_cif"
$py train.py data.fold=0 data.limit=300 trainer.max_epochs=3 data.batch_size=32 logger=csv \
  trainer.enable_progress_bar=false hydra.run.dir="$out/train_cgcnn"
$py train.py model=rf data.fold=0 data.limit=300 logger=csv hydra.run.dir="$out/train_rf"
# a CHGNet-feature head (added for the model-kind step, issue 18)
$py train.py model=chgnet_mlp data.fold=0 data.limit=300 trainer.max_epochs=3 data.batch_size=32 \
  logger=csv trainer.enable_progress_bar=false hydra.run.dir="$out/train_head"
