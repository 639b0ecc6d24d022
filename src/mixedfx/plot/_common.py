"""What the plot functions share: axes creation, the data a fit used, its predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mixedfx.models.lm import LinearModel
from mixedfx.models.lmm import LinearMixedModel

Fit = LinearModel | LinearMixedModel
COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def axes(ax: Axes | None, size: tuple[float, float] = (6.0, 4.5)) -> tuple[Figure, Axes]:
    """The given Axes and its figure, or a new figure with one Axes."""
    if ax is not None:
        figure = ax.get_figure()
        assert isinstance(figure, Figure)
        return figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def response(fit: Fit) -> np.ndarray:
    return fit.y if isinstance(fit, LinearModel) else fit.design.y


def response_name(fit: Fit) -> str:
    return fit.formula.response


def numeric_predictor(fit: Fit, x: str | None) -> str:
    """The predictor to put on the x axis: `x`, or the fit's only numeric fixed predictor."""
    data = fit.frame.data
    if x is not None:
        if x not in data.columns:
            raise ValueError(f"{x!r} is not a variable of the model; it uses {list(data.columns)}")
        return x
    from formulaic import Formula

    used = sorted(Formula(fit.formula.fixed).required_variables)
    numeric = [c for c in used if pd.api.types.is_numeric_dtype(data[c])]
    if len(numeric) != 1:
        raise ValueError(f"choose the x variable with x=...: numeric predictors are {numeric}")
    return numeric[0]


def group_values(fit: Fit, group: str, data: pd.DataFrame | None) -> np.ndarray:
    """The group column for the rows the fit used, from the fit's frame or from `data`."""
    if group in fit.frame.data.columns:
        return fit.frame.data[group].astype(str).to_numpy()
    if data is None or group not in data.columns:
        raise ValueError(
            f"{group!r} is not a variable of the model: pass the data frame holding it as data="
        )
    return data[group].iloc[fit.frame.rows].astype(str).to_numpy()


def sorted_levels(values: np.ndarray) -> list[str]:
    return sorted(set(values.tolist()))
