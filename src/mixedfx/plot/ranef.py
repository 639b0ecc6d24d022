"""Caterpillar plot: each level's conditional mode with its interval, sorted."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from mixedfx.distributions import norm_ppf
from mixedfx.models.lmm import LinearMixedModel


def caterpillar(fit: LinearMixedModel, group: str | None = None, level: float = 0.95) -> Figure:
    """Conditional modes ± z·(conditional SD) per level, one panel per coefficient.

    Parameters
    ----------
    group
        The grouping factor; the first one (most levels) when omitted.
    level
        Coverage of the intervals (normal quantiles, as lme4's dotplot of ``ranef``).
    """
    name = group or next(iter(fit.ranef))
    if name not in fit.ranef:
        raise ValueError(f"no grouping factor {name!r}; the model has {list(fit.ranef)}")
    modes, sds = fit.ranef[name], fit.ranef_se[name]
    z = norm_ppf(0.5 + level / 2)
    k = modes.shape[1]
    height = max(3.0, 0.22 * len(modes) + 1.2)
    figure = Figure(figsize=(3.6 * k, height), layout="constrained")
    panels = figure.subplots(1, k, squeeze=False).ravel()
    for ax, column in zip(panels, modes.columns):
        order = np.argsort(modes[column].to_numpy())
        values = modes[column].to_numpy()[order]
        half = z * sds[column].to_numpy()[order]
        ypos = np.arange(len(values))
        ax.errorbar(values, ypos, xerr=half, fmt="o", ms=4, color="#4c72b0", ecolor="#8da0cb")
        ax.axvline(0.0, color="#c44e52", lw=1, ls="--")
        ax.set_yticks(ypos, [str(v) for v in modes.index[order]])
        ax.set_title(str(column))
        ax.set_xlabel("conditional mode")
    panels[0].set_ylabel(name)
    figure.suptitle(f"Random effects of {name} with {level:.0%} intervals")
    return figure
