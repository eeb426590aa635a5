"""Prediction on corpora: readers (files, JSON tables, GNoME, Materials Project), screening,
chunked resumable runs and their output table, as run by ``moduli predict`` and ``predict.py``."""
