"""Elastic properties derived from bulk and shear moduli and the structure."""
