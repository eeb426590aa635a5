#!/usr/bin/env bash
# predict.py over two real corpora with the fold-0 CGCNN models of 2026-11-24_mp_elastic_fold0
# (their checkpoints are kept as test fixtures in tests/data/checkpoints/):
#  - MP structures with band gaps (matminer dielectric set), the paper's screen;
#  - WBM hypothetical structures (no band gaps): radioactive screen only.
# Then compare predictions with DFT moduli on the ids that have them (compare.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
bulk=tests/data/checkpoints/paper_cgcnn_k_fold0.ckpt
shear=tests/data/checkpoints/paper_cgcnn_g_fold0.ckpt
data=${MODULI_DATA_DIR:?set MODULI_DATA_DIR to the shared data folder}
.venv/bin/python predict.py corpus=structures_json \
  corpus.path="$data/matminer_dielectric_constant_bandgap.json.gz" \
  ckpt.bulk="$bulk" ckpt.shear="$shear" write_csv=true progress=false hydra.run.dir="$here/dielectric_mp"
.venv/bin/python predict.py corpus=structures_json \
  corpus.path="$data/wbm_random_972_structures_matcalc.json.gz" corpus.band_gap_column=null \
  screen.band_gap_min=null screen.band_gap_max=null \
  ckpt.bulk="$bulk" ckpt.shear="$shear" write_csv=true progress=false hydra.run.dir="$here/wbm"
.venv/bin/python "$here/compare.py" | tee "$here/comparison.txt"
