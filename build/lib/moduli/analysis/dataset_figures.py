"""Dataset / corpus figures (paper Figs. 4, 5): crystal systems, atoms per cell, elements.

Each function draws the table from ``moduli.analysis.statistics`` it is given, so the numbers in
a figure and in ``summary.md`` are the same numbers.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from pymatgen.core import Element

from moduli.analysis.style import SYSTEM_COLORS, save_figure


def plot_crystal_systems(counts: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Bars of structures per crystal system, each labelled with its count and percentage."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    colors = [SYSTEM_COLORS.get(s, "#cccccc") for s in counts["crystal_system"]]
    bars = ax.bar(counts["crystal_system"], counts["count"], color=colors)
    for bar, n, pct in zip(bars, counts["count"], counts["percent"]):
        ax.annotate(f"{n:,}\n{pct:.1f} %", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
    ax.set_ylabel("structures")
    ax.set_ylim(0, max(counts["count"].max(), 1) * 1.22)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, stem)


def plot_atoms_per_cell(counts: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Histogram of atoms in the primitive cell: one bar per atom count, log-scaled counts."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.bar(counts["n_atoms"], counts["count"], width=0.9, color="#1f77b4")
    ax.set_yscale("log")
    ax.set_xlabel("atoms in the primitive cell")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("structures")
    ax.set_xlim(0, max(int(counts["n_atoms"].max()), 1) + 1)
    total = int(counts["count"].sum())
    mean = float((counts["n_atoms"] * counts["count"]).sum() / total) if total else 0.0
    ax.set_title(f"{title} (n = {total:,}, mean {mean:.1f} atoms)")
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, stem)


def plot_element_frequency(counts: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Structures containing each element, most to least common (every element shown)."""
    fig, ax = plt.subplots(figsize=(max(6.4, 0.13 * len(counts) + 1.0), 3.6))
    ax.bar(np.arange(len(counts)), counts["count"], width=0.8, color="#1f77b4")
    ax.set_xticks(np.arange(len(counts)), counts["element"], rotation=90, fontsize=7)
    ax.set_xlim(-0.8, len(counts) - 0.2)
    ax.set_ylabel("structures containing the element")
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, stem)


def table_position(z: int) -> tuple[int, int]:
    """(row, column) of element ``z`` in the 18-column table, f-block as rows 9 and 10 below."""
    if 57 <= z <= 71:
        return 9, 3 + z - 57
    if 89 <= z <= 103:
        return 10, 3 + z - 89
    element = Element.from_Z(z)
    return element.row, element.group


def plot_periodic_table(counts: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Periodic-table heatmap of structures per element (log colour scale; absent elements grey).

    Drawn with matplotlib rather than pymatviz: pymatviz's heatmaps are plotly figures, whose
    PNG/SVG export needs kaleido and a Chrome binary that headless clusters and CI lack.
    """
    by_symbol = dict(zip(counts["element"], counts["count"]))
    positive = [c for c in by_symbol.values() if c > 0]
    norm = LogNorm(vmin=1, vmax=max(max(positive, default=1), 2))
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(11, 6.0))
    for z in range(1, 104):
        row, col = table_position(z)
        y = row - (0.5 if row >= 9 else 0)  # f-block rows half a row below period 7
        symbol = Element.from_Z(z).symbol
        count = by_symbol.get(symbol, 0)
        face = cmap(norm(count)) if count else "#eeeeee"
        ax.add_patch(Rectangle((col - 0.45, y - 0.45), 0.9, 0.9, facecolor=face, edgecolor="white"))
        dark = count and norm(count) < 0.6
        ax.text(col, y - 0.1, symbol, ha="center", va="center", fontsize=9, fontweight="bold",
                color="white" if dark else "black")
        if count:
            ax.text(col, y + 0.25, f"{count:,}", ha="center", va="center", fontsize=6,
                    color="white" if dark else "black")
    ax.set_xlim(0.4, 18.6)
    ax.set_ylim(9.9, 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(mappable, ax=ax, orientation="horizontal", fraction=0.04, pad=0.02, shrink=0.5)
    bar.set_label("structures containing the element (log scale)")
    ax.set_title(title)
    return save_figure(fig, stem)
