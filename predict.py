"""Predict elastic moduli for a screened corpus: ``python predict.py corpus=... [ckpt.bulk=...]``.

The same Hydra application and pipeline as ``moduli predict``; configs in src/moduli/conf.
"""
from moduli.cli import predict_main

if __name__ == "__main__":
    predict_main()
