"""The base layer: what every other part of moduli builds on, importing nothing above it.

- :mod:`~moduli.core.schema`: the one table of targets, prediction columns, split and stage names;
- :mod:`~moduli.core.records`: records, rejections and ``rejected.csv``;
- :mod:`~moduli.core.structures`: the one structure reader (dicts, CIF, POSCAR, JSON, JSON Lines,
  files, zip members) and its reasons in words;
- :mod:`~moduli.core.cell`: cell checks and the cell / symmetry description;
- :mod:`~moduli.core.assets`: named data files (local, cached or downloaded, sha256-checked);
- :mod:`~moduli.core.atomic`: complete-or-absent file writes;
- :mod:`~moduli.core.errors`: user errors and how the command-line tools report them;
- :mod:`~moduli.core.config`: instantiating config ``_target_``s from trusted modules only.
"""
