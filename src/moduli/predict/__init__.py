"""Prediction on large screened corpora: corpus readers, screening, sharded resumable output."""
