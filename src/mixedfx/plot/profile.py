"""Zeta plots of likelihood profiles (lme4's ``xyplot`` of a profile)."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from mixedfx.distributions import norm_ppf
from mixedfx.inference.profile import Profile


def zeta(profiles: dict[str, Profile], level: float = 0.95) -> Figure:
    """ζ against each parameter, one panel each, with the `level` interval marked.

    A straight line means the parameter's estimate is close to normally distributed; curvature
    shows where Wald intervals would mislead.
    """
    names = list(profiles)
    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    figure = Figure(figsize=(3.4 * ncols, 2.8 * nrows), layout="constrained")
    panels = figure.subplots(nrows, ncols, squeeze=False).ravel()
    z = norm_ppf(0.5 + level / 2)
    for ax, name in zip(panels, names):
        p = profiles[name]
        ax.plot(p.values, p.zeta, "o-", ms=3, color="#4c72b0")
        for bound in (-z, z):
            ax.axhline(bound, color="#c44e52", ls="--", lw=1)
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.set_xlabel(name)
        ax.set_ylabel("ζ")
    for ax in panels[len(names) :]:
        ax.set_visible(False)
    figure.suptitle(f"Likelihood profiles (dashed: ζ = ±{z:.2f}, the {level:.0%} interval)")
    return figure
