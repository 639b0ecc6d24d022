"""Figures an analyst draws for regression and mixed models (matplotlib, imported lazily).

Every function returns a `matplotlib.figure.Figure` and accepts ``ax`` to draw into an
existing Axes.  ``import mixedfx`` does not import this package or matplotlib.
"""

from mixedfx.plot.diagnostics import qq_residuals, residuals_by_group, residuals_vs_fitted
from mixedfx.plot.groups import group_lines, shrinkage
from mixedfx.plot.lines import fitted_line
from mixedfx.plot.profile import zeta
from mixedfx.plot.ranef import caterpillar

__all__ = [
    "caterpillar",
    "fitted_line",
    "group_lines",
    "qq_residuals",
    "residuals_by_group",
    "residuals_vs_fitted",
    "shrinkage",
    "zeta",
]
