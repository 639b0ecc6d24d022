"""Satterthwaite's ingredients for a model with a residual SD per stratum of rows.

The variance parameters are (θ, γ, σ), log δ = D γ (`mixedfx.pls.dispersion`).  As for the
homoscedastic model (`mixedfx.inference.varpar`), vcov(β̂) = σ² C(θ, γ)⁻¹ with C = L_X L_Xᵀ,
now on the weighted cross-products A(γ), and the parameters' asymptotic covariance is 2 H⁻¹,
H the Hessian of the criterion at given σ.  So Satterthwaite's df account for the estimated
variance ratios as for every other variance parameter:

    ∂vcov/∂θ, ∂vcov/∂σ   as for the homoscedastic model on A(γ̂);
    ∂vcov/∂γ_j           central differences of σ̂² C(θ̂, γ)⁻¹ in γ_j (one factorization each);
    H                    central differences of the exact gradient in (θ, γ), with ∂d/∂σ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from mixedfx.distributions import norm_ppf
from mixedfx.inference.derivatives import STEP, varpar_hessian
from mixedfx.inference.protocol import MixedFit
from mixedfx.inference.varpar import VarianceParameters, asymptotic_covariance
from mixedfx.pls.cholesky import beta_covariance
from mixedfx.pls.dispersion import DispersionDeviance


@dataclass(frozen=True)
class DispersionVarianceParameters:
    """Derivatives of the criterion and of vcov(β̂) with respect to (θ, γ, σ), σ last.

    Attributes
    ----------
    fit
        The fit, whose cross-products are A(γ̂).
    objective
        d(θ, γ) of the fit's strata and criterion.
    gamma
        γ̂, shape (m,).
    """

    fit: MixedFit
    objective: DispersionDeviance
    gamma: np.ndarray

    @cached_property
    def _plain(self) -> VarianceParameters:
        return VarianceParameters(self.fit)

    @property
    def vcov(self) -> np.ndarray:
        return self._plain.vcov

    @cached_property
    def units(self) -> np.ndarray:
        """Natural sizes of (θ, γ): the steps of the differences are `STEP` times these."""
        return self.objective.scale(np.concatenate([self.fit.theta, self.gamma]))

    @cached_property
    def hessian(self) -> np.ndarray:
        """Shape (nθ + m + 1,) × 2: the criterion's Hessian in (θ, γ, σ) at the estimate."""
        x = np.concatenate([self.fit.theta, self.gamma])
        fit = self.fit
        return varpar_hessian(self.objective, x, fit.sigma, fit.chol.pwrss, self.units)

    @cached_property
    def covariance(self) -> np.ndarray:
        """2 H⁻¹ on H's eigenvalues above 1e-8 in natural units, as `VarianceParameters`."""
        return asymptotic_covariance(self.hessian, np.append(self.units, 1.0))

    @cached_property
    def vcov_gradient(self) -> np.ndarray:
        """∂vcov(β̂)/∂(θ, γ, σ), shape (nθ + m + 1, p, p)."""
        plain = self._plain.vcov_gradient  # (θ, σ)
        d_gamma = [
            (self._vcov_at(self.gamma + h * e) - self._vcov_at(self.gamma - h * e)) / (2 * h)
            for h, e in zip(STEP * self.units[self.fit.theta.size :], np.eye(self.gamma.size))
        ]
        return np.concatenate([plain[:-1], np.reshape(d_gamma, (-1, *plain.shape[1:])), plain[-1:]])

    def _vcov_at(self, gamma: np.ndarray) -> np.ndarray:
        """σ̂² C(θ̂, γ)⁻¹."""
        chol = self.objective.at(gamma).factor(self.fit.theta)
        if chol is None:
            raise FloatingPointError(f"the model cannot be evaluated at γ = {gamma}")
        return beta_covariance(chol, self.fit.sigma)


def residual_sd_intervals(
    vp: DispersionVarianceParameters, sds: pd.Series, D: np.ndarray, level: float
) -> pd.DataFrame:
    """Wald intervals for each stratum's (or row's) residual SD σ δ_s, on the log scale.

    log(σ δ_s) = log σ + (D γ)_s has the variance aᵀ A a, a = (0 for θ, D_s, 1/σ) and A the
    asymptotic covariance of (θ, γ, σ); the interval exp(log(σ δ_s) ± z SE) stays positive
    and is as asymmetric as the likelihood of an SD is.

    Parameters
    ----------
    vp
        The fit's variance parameters.
    sds
        σ̂ δ̂_s by stratum (or row), shape (S,).
    D
        Shape (S, m): the dispersion design of each stratum (or row).
    level
        Coverage, in (0, 1).

    Returns
    -------
    DataFrame
        Indexed by stratum: ``estimate``, ``lower``, ``upper``.
    """
    k, sigma = vp.fit.theta.size, vp.fit.sigma
    a = np.zeros((D.shape[0], vp.covariance.shape[0]))
    a[:, k:-1] = D
    a[:, -1] = 1.0 / sigma
    se = np.sqrt(np.einsum("si,ij,sj->s", a, vp.covariance, a))
    z = float(norm_ppf(0.5 + level / 2))
    log_sd = np.log(sds.to_numpy())
    return pd.DataFrame(
        {
            "estimate": sds.to_numpy(),
            "lower": np.exp(log_sd - z * se),
            "upper": np.exp(log_sd + z * se),
        },
        index=sds.index,
    )
