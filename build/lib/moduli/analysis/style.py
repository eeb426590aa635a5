"""What every figure shares: headless backend, crystal-system colours, saving PNG + SVG atomically."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (CI, clusters, notebooks alike)
import matplotlib.pyplot as plt  # noqa: E402

from moduli.core.atomic import atomic_write  # noqa: E402
from moduli.core.cell import CRYSTAL_SYSTEMS  # noqa: E402

SYSTEMS = [name for _, name in CRYSTAL_SYSTEMS]  # triclinic ... cubic, lowest symmetry first
SYSTEM_COLORS = dict(zip(SYSTEMS, ["#7f7f7f", "#8c564b", "#9467bd", "#2ca02c", "#17becf",
                                   "#ff7f0e", "#1f77b4"]))
FORMATS = ("png", "svg")

plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
                     "legend.fontsize": 8, "savefig.bbox": "tight", "figure.dpi": 150,
                     "svg.fonttype": "none"})  # SVG text stays text: editable, searchable


def save_figure(fig, stem: str | Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.svg`` (each by temp file + rename), then close it.

    Dense scatters should be drawn with ``rasterized=True`` so the SVG stays small: the points
    become one embedded image while axes and text stay vector.
    """
    stem = Path(stem)
    try:
        return [atomic_write(stem.with_suffix(f".{fmt}"),
                             lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=160))
                for fmt in formats]
    finally:
        plt.close(fig)
