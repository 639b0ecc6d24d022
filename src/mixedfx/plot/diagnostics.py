"""Residual diagnostics: against fitted values, by group, and a normal QQ plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mixedfx.distributions import norm_ppf
from mixedfx.models.lmm import LinearMixedModel
from mixedfx.plot._common import Fit, axes, group_values, sorted_levels


def residuals_vs_fitted(fit: Fit, ax: Axes | None = None) -> Figure:
    """Residuals against fitted values with a zero line: structure left here is misfit."""
    figure, ax = axes(ax)
    ax.scatter(fit.fitted, fit.residuals, s=14, alpha=0.6, color="#4c72b0")
    ax.axhline(0.0, color="#c44e52", lw=1.5, ls="--")
    ax.set_xlabel("fitted values")
    ax.set_ylabel("residuals")
    ax.set_title(f"Residuals vs fitted: {fit.formula.text}")
    return figure


def residuals_by_group(
    fit: Fit,
    group: str,
    data: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    standardized: bool = False,
) -> Figure:
    """Box plots of the residuals per level of `group`: a shifted box is a group effect
    the model missed, unequal spreads are unequal variances.

    Parameters
    ----------
    group
        A column; taken from the fit's data, else from `data` (the frame the model was fitted
        to, e.g. State for ``lm("Mood ~ Exercise")``).
    standardized
        Divide each residual by the SD the model gives its row (σ, or a stratum's σ δ_s
        with a dispersion formula, over √w with weights): where the model's variances are
        right, every box then has the same spread, about 1.
    """
    figure, ax = axes(ax)
    groups = group_values(fit, group, data)
    levels = sorted_levels(groups)
    values = standardized_residuals(fit) if standardized else fit.residuals
    ax.boxplot([values[groups == g] for g in levels], tick_labels=levels)
    ax.axhline(0.0, color="#c44e52", lw=1.5, ls="--")
    ax.set_xlabel(group)
    ax.set_ylabel("standardized residuals" if standardized else "residuals")
    extra = f"\nwith dispformula {_dispersion(fit)}" if _dispersion(fit) else ""
    ax.set_title(f"Residuals by {group}: {fit.formula.text}{extra}", fontsize="medium")
    return figure


def standardized_residuals(fit: Fit) -> np.ndarray:
    """Residuals over the SD the model gives each row, shape (n,)."""
    if isinstance(fit, LinearMixedModel):
        return fit.pearson_residuals / fit.sigma
    return fit.residuals / fit.sigma


def _dispersion(fit: Fit) -> str | None:
    return fit.dispersion_formula if isinstance(fit, LinearMixedModel) else None


def qq_residuals(fit: Fit, ax: Axes | None = None) -> Figure:
    """Normal QQ plot of the standardized residuals (`standardized_residuals`: over each row's
    own SD, as lme4 plots Pearson residuals) with the identity line."""
    figure, ax = axes(ax)
    z = np.sort(standardized_residuals(fit))
    n = z.size
    theoretical = norm_ppf((np.arange(1, n + 1) - 0.5) / n)
    ax.scatter(theoretical, z, s=14, alpha=0.6, color="#4c72b0")
    ax.plot(theoretical, theoretical, color="#c44e52", lw=1.5, label="normal")
    ax.set_xlabel("theoretical normal quantiles")
    ax.set_ylabel("standardized residuals")
    ax.set_title(f"Normal QQ plot: {fit.formula.text}")
    return figure
