"""Per-group regression lines, and the pooled / per-group / mixed comparison (shrinkage)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mixedfx.models.lm import LinearModel
from mixedfx.models.lmlist import LmList
from mixedfx.models.lmm import LinearMixedModel
from mixedfx.plot._common import COLORS, axes, numeric_predictor


def group_lines(fits: LmList, x: str | None = None, ax: Axes | None = None) -> Figure:
    """Each group's points and its own regression line with a confidence band.

    Parameters
    ----------
    fits
        Per-group fits from `lm_list`; the band has their `level` coverage.
    """
    figure, ax = axes(ax, (7.0, 5.0))
    for i, (label, fit) in enumerate(fits.fits.items()):
        color = COLORS[i % len(COLORS)]
        name = numeric_predictor(fit, x)
        xs = fit.frame.data[name].to_numpy(dtype=float)
        ax.scatter(xs, fit.y, s=12, alpha=0.5, color=color)
        grid = pd.DataFrame({name: np.linspace(xs.min(), xs.max(), 60)})
        band = fit.predict(grid, interval="confidence", level=fits.level)
        assert isinstance(band, pd.DataFrame)
        ax.plot(grid[name], band["fit"], color=color, lw=2, label=f"{fits.group} {label}")
        ax.fill_between(grid[name], band["lwr"], band["upr"], color=color, alpha=0.15)
    ax.set_xlabel(name)
    ax.set_ylabel(next(iter(fits.fits.values())).formula.response)
    ax.set_title(f"Separate regressions per {fits.group} ({fits.level:.0%} bands)")
    ax.legend(frameon=False)
    return figure


def shrinkage(pooled: LinearModel, per_group: LmList, mixed: LinearMixedModel) -> Figure:
    """One panel per group: the pooled line, the group's own line and the mixed model's
    line for that group.  The mixed line lies between the other two, nearer the group's own
    line the more data and the less noise the group has: partial pooling."""
    labels = list(per_group.fits)
    ncols = min(len(labels), 4)
    nrows = math.ceil(len(labels) / ncols)
    figure = Figure(figsize=(3.2 * ncols, 3.0 * nrows + 0.6), layout="constrained")
    panels = figure.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    coef = mixed.coef[per_group.group]
    for i, (label, ax) in enumerate(zip(labels, panels)):
        fit = per_group.fits[label]
        name = numeric_predictor(fit, None)
        xs = fit.frame.data[name].to_numpy(dtype=float)
        grid = np.linspace(xs.min(), xs.max(), 50)
        frame = pd.DataFrame({name: grid})
        ax.scatter(xs, fit.y, s=10, alpha=0.45, color=COLORS[i % len(COLORS)])
        lines = {
            "pooled (lm)": (np.asarray(pooled.predict(frame)), "#555555", "--"),
            f"own {per_group.group} (lmList)": (np.asarray(fit.predict(frame)), "#d95f02", ":"),
            "mixed model": (_mixed_line(coef.loc[label], name, grid), "#1b9e77", "-"),
        }
        for text, (ys, color, style) in lines.items():
            ax.plot(grid, ys, color=color, ls=style, lw=2, label=text)
        ax.set_title(f"{per_group.group} {label}")
        ax.set_xlabel(name)
    for ax in panels[len(labels) :]:
        ax.set_visible(False)
    panels[0].set_ylabel(pooled.formula.response)
    handles, texts = panels[0].get_legend_handles_labels()
    figure.legend(handles, texts, loc="outside lower center", ncols=3, frameon=False)
    figure.suptitle("Pooled, per-group and mixed-model lines (shrinkage)")
    return figure


def _mixed_line(coef: pd.Series, name: str, grid: np.ndarray) -> np.ndarray:
    intercept = float(coef.get("(Intercept)", 0.0))
    return intercept + float(coef[name]) * grid
