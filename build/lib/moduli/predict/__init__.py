"""Prediction on large screened corpora (corpus readers, screening, sharded resumable output),
and ``moduli.predict(structures)``, the one-call table for structures in memory.

``moduli.predict`` is this package made callable: the package and the function share the name
users expect, and Python sets the package itself as ``moduli.predict`` whenever one of its
modules is imported, so a plain function of that name would be replaced by the first such import.
"""
import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, structures, ids=None, **options):
        """See :func:`moduli.models.table.predict_table` (this is the same function)."""
        from moduli.models.table import predict_table

        return predict_table(structures, ids, **options)


sys.modules[__name__].__class__ = _CallablePackage
