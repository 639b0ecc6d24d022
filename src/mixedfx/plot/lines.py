"""The article's first picture: the data and the fitted regression line."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mixedfx.models.lm import LinearModel
from mixedfx.plot._common import Fit, axes, numeric_predictor, response, response_name


def fitted_line(fit: Fit, x: str | None = None, ax: Axes | None = None) -> Figure:
    """Scatter of the response against `x` with the fitted (population-level) line.

    Parameters
    ----------
    fit
        A linear model, or a mixed model (its fixed-effects line is drawn).
    x
        The predictor on the x axis; the only numeric predictor when omitted.  The line is
        only meaningful when the model has no other predictors.
    """
    figure, ax = axes(ax)
    name = numeric_predictor(fit, x)
    xs = fit.frame.data[name].to_numpy(dtype=float)
    ax.scatter(xs, response(fit), s=14, alpha=0.6, color="#4c72b0", label="observations")
    grid = pd.DataFrame({name: np.linspace(xs.min(), xs.max(), 100)})
    line = (
        fit.predict(grid)
        if isinstance(fit, LinearModel)
        else fit.predict(grid, include_random=False)
    )
    ax.plot(grid[name], np.asarray(line, dtype=float), color="#c44e52", lw=2, label="fitted line")
    ax.set_xlabel(name)
    ax.set_ylabel(response_name(fit))
    ax.set_title(f"{fit.formula.text}")
    ax.legend(frameon=False)
    return figure
