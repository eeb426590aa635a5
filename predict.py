"""Prediction on screened corpora: not yet implemented (issue: predict.py at scale).

Until then, use the Python API: ``moduli.load_model(ckpt).predict(structures)``.
"""
import sys

if __name__ == "__main__":
    sys.exit("predict.py is not implemented yet; use moduli.load_model(path).predict(structures)")
