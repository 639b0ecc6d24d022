"""The fit of a linear mixed model with a residual variance per stratum of rows.

The optimizer minimizes d(θ, γ) (`mixedfx.pls.dispersion`); at γ̂ the model is the weighted
linear mixed model on A(γ̂), so the result is an ordinary `MixedEstimate` on those
cross-products (its criterion carries the weights' term) beside γ̂: β̂, vcov(β̂) given the
variance parameters, the conditional modes and the likelihood all follow unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mixedfx.crossprod.reweighted import RowDispersion
from mixedfx.crossprod.strata import StrataDispersion, stratified_products
from mixedfx.data.design import Design
from mixedfx.data.dispersion import DispersionDesign
from mixedfx.models.estimate import MixedEstimate, best_of_starts, optimum
from mixedfx.optimize import OptimizerOptions
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.dispersion import DispersionDeviance, Reweighting
from mixedfx.pls.start import dispersion_start, moment_start


@dataclass(frozen=True)
class DispersionFit:
    """The dispersion part of a fit: its design, A(γ) and γ̂.

    Attributes
    ----------
    design
        The dispersion design (and the strata, if any).
    reweighting
        A(γ) and the chain rule through it (refits and inference need it).
    gamma
        Shape (m,): γ̂, log δ = X γ̂.
    """

    design: DispersionDesign
    reweighting: Reweighting
    gamma: np.ndarray

    @property
    def coef(self) -> pd.Series:
        """γ̂ by name: each variable's effect on log residual SD."""
        return pd.Series(self.gamma, index=list(self.design.names), name="log_sd")

    @property
    def ratios(self) -> pd.Series:
        """δ_s by stratum label: each stratum's residual SD over the reference's (strata
        only)."""
        assert self.design.D is not None, "a numeric dispersion variable makes no strata"
        return pd.Series(np.exp(self.design.D @ self.gamma), index=list(self.design.labels))

    @property
    def row_ratios(self) -> np.ndarray:
        """Shape (n,): δᵢ, each row's residual SD over σ."""
        return np.exp(self.design.X @ self.gamma)

    def objective(self, criterion: Criterion) -> DispersionDeviance:
        """(θ, γ) ↦ the criterion on these cross-products."""
        return DispersionDeviance(self.reweighting, criterion)

    @property
    def size(self) -> int:
        """m: the parameters the dispersion formula adds."""
        return self.gamma.size


def reweighting_of(design: Design, dispersion: DispersionDesign) -> Reweighting:
    """A(γ) for the model's rows: combined per-stratum cross-products where the dispersion
    variables are categorical, else the rows reweighted at each γ."""
    if dispersion.stratum is None or dispersion.D is None:
        return RowDispersion(design, dispersion.X)
    strata = stratified_products(design, dispersion.stratum, len(dispersion.labels))
    return StrataDispersion(strata, dispersion.D)


def fit_dispersion(
    reweighting: Reweighting,
    design: DispersionDesign,
    criterion: Criterion,
    options: OptimizerOptions,
    start: np.ndarray | None = None,
) -> tuple[MixedEstimate, DispersionFit]:
    """Minimize d(θ, γ) from `start` = (θ, γ), by default the moment estimates of the
    strata's variance ratios (γ = 0 with a numeric variable) and of θ on the rows weighted by
    them (`mixedfx.pls.start`)."""
    objective = DispersionDeviance(reweighting, criterion)
    if start is None:
        gamma = (
            dispersion_start(reweighting.strata.parts, reweighting.strata.total, reweighting.D)
            if isinstance(reweighting, StrataDispersion)
            else np.zeros(reweighting.size)
        )
        start = np.concatenate([moment_start(reweighting.at(gamma)), gamma])
    layout = objective.layout

    def on_boundary(x: np.ndarray) -> bool:
        return layout.on_boundary(objective.split(x)[0])

    second = np.concatenate([layout.initial(), objective.split(start)[1]])
    opt = best_of_starts(objective, start, objective.lower_bounds(), options, on_boundary, second)
    theta, gamma = objective.split(opt.final)
    at_gamma = objective.at(gamma)
    estimate = optimum(at_gamma, replace(opt, initial=objective.split(opt.initial)[0], final=theta))
    return estimate, DispersionFit(design, reweighting, gamma)
