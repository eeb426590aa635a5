"""Moduli maps (paper Figs. 6, 7) and distributions of the derived properties.

The maps put the shear modulus G on x and the bulk modulus B on y (GPa, log axes: the moduli span
three decades), coloured by crystal system, with marginal histograms and lines of constant Pugh
ratio B/G. Pugh's criterion: B/G > 1.75 is ductile (above the 1.75 line), below it brittle.

Drawing stays readable at 50k points: point size and opacity shrink with the number of points,
the largest crystal systems are drawn first so rare ones stay on top, scatters are rasterised
(small SVGs), and the per-system panels are hexbin densities rather than scatters.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from moduli.analysis.statistics import describe
from moduli.analysis.style import SYSTEM_COLORS, SYSTEMS, save_figure
from moduli.physics.derived import DERIVED as DERIVED_SPEC

PUGH_LINES = (1.0, 1.75, 3.0)
DUCTILE_PUGH = 1.75
# (column, label, units) of every derived column, from the one spec.
DERIVED = [(d.column, d.label, d.units) for d in DERIVED_SPEC]


def _valid(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with finite, positive B and G (log axes cannot show the others)."""
    b, g = table["bulk_modulus_gpa"].astype(float), table["shear_modulus_gpa"].astype(float)
    return table[np.isfinite(b) & np.isfinite(g) & (b > 0) & (g > 0)]


def moduli_by_system(table: pd.DataFrame) -> pd.DataFrame:
    """Per crystal system (and all): n, median B and G (GPa), % ductile (B/G > 1.75)."""
    valid = _valid(table)
    rows = []
    for name in SYSTEMS + ["all"]:
        part = valid if name == "all" else valid[valid["crystal_system"] == name]
        pugh = part["bulk_modulus_gpa"] / part["shear_modulus_gpa"]
        rows.append({"crystal_system": name, "n": len(part),
                     "median_B_gpa": float(part["bulk_modulus_gpa"].median()) if len(part) else float("nan"),
                     "median_G_gpa": float(part["shear_modulus_gpa"].median()) if len(part) else float("nan"),
                     "percent_ductile": 100.0 * float((pugh > DUCTILE_PUGH).mean()) if len(part) else float("nan")})
    return pd.DataFrame(rows)


def _limits(valid: pd.DataFrame) -> tuple[float, float]:
    values = np.concatenate([valid["bulk_modulus_gpa"], valid["shear_modulus_gpa"]]).astype(float)
    return float(values.min()) / 1.5, float(values.max()) * 1.5


def _pugh_lines(ax, low: float, high: float, labels: bool = True) -> None:
    g = np.array([low, high])
    for ratio in PUGH_LINES:
        key = ratio == DUCTILE_PUGH
        ax.plot(g, ratio * g, color="black" if key else "grey", lw=1.3 if key else 0.8,
                ls="--" if key else ":", zorder=3)
        if labels:  # at the low end, where there are few structures
            x = low * 2.0
            ax.text(x, ratio * x * 1.15, f"B/G = {ratio:g}", fontsize=7, rotation=45,
                    rotation_mode="anchor", ha="left", va="bottom",
                    color="black" if key else "grey", zorder=4)


def _style_axes(ax, low: float, high: float) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")


def plot_moduli_map(table: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """All structures: G vs B coloured by crystal system, marginal histograms, Pugh lines."""
    valid = _valid(table)
    low, high = _limits(valid)
    fig = plt.figure(figsize=(7.4, 7.0))
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), wspace=0.05, hspace=0.05)
    ax = fig.add_subplot(grid[1, 0])
    top = fig.add_subplot(grid[0, 0], sharex=ax)
    right = fig.add_subplot(grid[1, 1], sharey=ax)
    size, alpha = float(np.clip(3000 / max(len(valid), 1), 1.5, 14)), float(np.clip(4000 / max(len(valid), 1), 0.15, 0.8))
    bins = np.geomspace(low, high, 50)
    present = [s for s in SYSTEMS if (valid["crystal_system"] == s).any()]
    for name in sorted(present, key=lambda s: -(valid["crystal_system"] == s).sum()):
        part = valid[valid["crystal_system"] == name]
        ax.scatter(part["shear_modulus_gpa"], part["bulk_modulus_gpa"], s=size, alpha=alpha,
                   color=SYSTEM_COLORS[name], edgecolors="none", rasterized=True, zorder=2)
    for axis, column, orientation in ((top, "shear_modulus_gpa", "vertical"),
                                      (right, "bulk_modulus_gpa", "horizontal")):
        axis.hist([valid.loc[valid["crystal_system"] == s, column] for s in present], bins=bins,
                  stacked=True, color=[SYSTEM_COLORS[s] for s in present], orientation=orientation)
        axis.spines[["top", "right"]].set_visible(False)
    top.set_ylabel("structures")
    right.set_xlabel("structures")
    top.tick_params(labelbottom=False)
    right.tick_params(labelleft=False)
    _style_axes(ax, low, high)
    _pugh_lines(ax, low, high)
    ax.set_xlabel("shear modulus G (GPa)")
    ax.set_ylabel("bulk modulus B (GPa)")
    handles = [plt.Line2D([], [], marker="o", ls="", color=SYSTEM_COLORS[s], label=s) for s in present]
    handles.append(plt.Line2D([], [], color="black", ls="--", label="B/G = 1.75 (ductile above)"))
    ax.legend(handles=handles, loc="lower right", frameon=True, framealpha=0.9)
    top.set_title(f"{title} (n = {len(valid):,})")
    return save_figure(fig, stem)


def plot_moduli_by_system(table: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """One hexbin density panel of G vs B per crystal system, plus one for all, Pugh lines in each."""
    valid = _valid(table)
    low, high = _limits(valid)
    fig, axes = plt.subplots(2, 4, figsize=(13, 7.0), sharex=True, sharey=True)
    counts_max = 1
    panels = []
    for ax, name in zip(axes.flat, ["all"] + SYSTEMS):
        part = valid if name == "all" else valid[valid["crystal_system"] == name]
        pugh = part["bulk_modulus_gpa"] / part["shear_modulus_gpa"]
        ductile = 100.0 * float((pugh > DUCTILE_PUGH).mean()) if len(part) else float("nan")
        if len(part):
            art = ax.hexbin(part["shear_modulus_gpa"], part["bulk_modulus_gpa"], xscale="log", yscale="log",
                            gridsize=28, extent=(np.log10(low), np.log10(high)) * 2, mincnt=1,
                            cmap="viridis", norm=LogNorm(), rasterized=True)
            counts_max = max(counts_max, int(art.get_array().max()))
            panels.append(art)
        _style_axes(ax, low, high)
        _pugh_lines(ax, low, high, labels=False)
        ax.set_title(f"{name}: n = {len(part):,}, {ductile:.0f} % ductile", fontsize=9)
    for art in panels:
        art.set_norm(LogNorm(vmin=1, vmax=max(counts_max, 2)))
    for ax in axes[-1]:
        ax.set_xlabel("G (GPa)")
    for ax in axes[:, 0]:
        ax.set_ylabel("B (GPa)")
    fig.suptitle(f"{title}: structures per hexagon; dashed B/G = 1.75, dotted 1 and 3")
    fig.tight_layout()
    if panels:
        fig.colorbar(panels[0], ax=axes, fraction=0.02, pad=0.01, label="structures per hexagon")
    return save_figure(fig, stem)


def derived_statistics(table: pd.DataFrame) -> pd.DataFrame:
    """n, mean, median, 5th / 95th percentile of each derived property present in the table."""
    rows = [{"property": column, "units": units, **describe(table[column])}
            for column, _, units in DERIVED if column in table]
    return pd.DataFrame(rows)


def plot_derived_distributions(table: pd.DataFrame, stem: str | Path, title: str) -> list[Path]:
    """Histograms of every derived property in the table (velocities, Poisson and Pugh ratios,
    Debye temperature, Young's modulus, hardness, minimum thermal conductivity)."""
    present = [d for d in DERIVED if d[0] in table]
    columns = 4
    rows = max(1, -(-len(present) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(14, 3.1 * rows), squeeze=False)
    for ax, (column, label, units) in zip(axes.flat, present):
        values = table[column].astype(float)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=60, color="#1f77b4")
        median = float(values.median()) if len(values) else float("nan")
        ax.axvline(median, color="black", ls="--", lw=1)
        ax.set_xlabel(f"{label} ({units})" if units else label)
        ax.set_ylabel("structures")
        shown = f"{median:,.0f}" if abs(median) >= 100 else f"{median:.3g}"
        note = f"median {shown} {units}".strip()
        if column == "pugh_ratio":
            ax.axvline(DUCTILE_PUGH, color="red", lw=1)
            note += f"\nred: B/G = 1.75\n{100 * (values > DUCTILE_PUGH).mean():.0f} % above (ductile)"
        # the note goes on the side away from the bulk of the distribution
        low, high = ax.get_xlim()
        right = median < (low + high) / 2
        ax.text(0.97 if right else 0.03, 0.95, note, transform=ax.transAxes, ha="right" if right else "left",
                va="top", fontsize=8, bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8})
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(present):]:
        ax.axis("off")
    fig.suptitle(f"{title} (n = {len(table):,})")
    fig.tight_layout()
    return save_figure(fig, stem)
