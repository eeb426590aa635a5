"""Features from pretrained foundation models (interatomic potentials), one vector per structure.

The only package of ``moduli`` that imports ``sevenn``, ``chgnet`` or ``e3nn``:

- :mod:`.chgnet`: CHGNet's 321 pooled atom and crystal features;
- :mod:`.sevennet`: SevenNet-0's per-layer atom means (and spreads) of its scalar channels;
- :mod:`.sevennet_clamped`: SevenNet-0's clamped-ion bulk modulus and pressure, and the strain
  Hessian of its energy (Voigt shear modulus, Kelvin moduli) with the memo that computes it once;
- :mod:`.sevennet_graph`: SevenNet-0's body in batched mode and its own graphs, which the
  fine-tuned network trains through.

A *vector featuriser* turns a structure into one fixed-length vector of intensive numbers (every
cell, origin, orientation and atom order of a crystal gives the same vector). It has

- ``key``: the graph attribute that carries its vector (distinct per featuriser, so kinds reading
  different vectors share one ensemble and one graph);
- ``spec``: what the vector is (model, versions, definition, length), recorded in checkpoints;
- ``check_spec(recorded)``: raise :class:`~moduli.core.errors.FeaturesMismatch` with the reason
  unless a head trained on ``recorded`` can read the vectors made here;
- ``featurize(records)``: vectors by record id (through its cache, an
  :class:`~moduli.graphs.cache.ArrayCache` keyed by structure content) and a rejection per
  structure it cannot read; ``compute_one(structure)``: one vector, raising with the reason.
"""
