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

from mixedfx.crossprod.strata import Strata
from mixedfx.data.dispersion import DispersionDesign
from mixedfx.models.estimate import MixedEstimate, optimum
from mixedfx.optimize import OptimizerOptions, minimize_theta
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.dispersion import DispersionDeviance
from mixedfx.pls.start import dispersion_start, moment_start


@dataclass(frozen=True)
class DispersionFit:
    """The dispersion part of a fit: the strata, their cross-products and γ̂.

    Attributes
    ----------
    design
        The strata and the dispersion design D.
    strata
        The cross-products of each stratum (refits need them).
    gamma
        Shape (m,): γ̂, log δ = D γ̂.
    """

    design: DispersionDesign
    strata: Strata
    gamma: np.ndarray

    @property
    def ratios(self) -> pd.Series:
        """δ_s: each stratum's residual SD over the reference stratum's, by label."""
        return pd.Series(np.exp(self.design.D @ self.gamma), index=list(self.design.labels))

    def objective(self, criterion: Criterion) -> DispersionDeviance:
        """(θ, γ) ↦ the criterion on these strata."""
        return DispersionDeviance(self.strata, self.design.D, criterion)

    @property
    def size(self) -> int:
        """m: the parameters the dispersion formula adds."""
        return self.gamma.size


def fit_dispersion(
    strata: Strata,
    design: DispersionDesign,
    criterion: Criterion,
    options: OptimizerOptions,
    start: np.ndarray | None = None,
) -> tuple[MixedEstimate, DispersionFit]:
    """Minimize d(θ, γ) from `start` = (θ, γ), by default the moment estimates of the
    strata's variance ratios and of θ on the rows weighted by them (`mixedfx.pls.start`)."""
    objective = DispersionDeviance(strata, design.D, criterion)
    if start is None:
        gamma = dispersion_start(strata.parts, strata.total, design.D)
        weighted = strata.combined(objective.weights(gamma))
        start = np.concatenate([moment_start(weighted), gamma])
    opt = minimize_theta(objective, start, objective.lower_bounds(), options)
    theta, gamma = objective.split(opt.final)
    at_gamma = objective.at(gamma)
    estimate = optimum(at_gamma, replace(opt, initial=objective.split(opt.initial)[0], final=theta))
    return estimate, DispersionFit(design, strata, gamma)
