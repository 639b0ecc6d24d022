"""The profiled criterion of a model whose residual SD differs between rows.

Row i has residual SD σ δᵢ, log δ = X γ (`mixedfx.data.dispersion`).  For fixed γ this is a
weighted linear mixed model, weights wᵢ = δᵢ⁻² (times the prior weights), so with its
cross-products A(γ) the criterion, profiled over β and σ, is

    d(θ, γ) = d₀(θ; A(γ)) − Σᵢ log wᵢ(γ),

d₀ the ML or REML criterion of `mixedfx.pls.deviance` (the weights' term is carried by
A(γ)).  Its gradient in θ is d₀'s; in γ it follows by the chain rule through A's blocks from
the adjoint ∂d₀/∂A that the θ gradient has computed (`Reweighting.gamma_gradient`): with
strata of rows one inner product per stratum (`mixedfx.crossprod.strata`), else
cross-products of the rows (`mixedfx.crossprod.reweighted`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.deviance import ProfiledDeviance
from mixedfx.pls.evaluated import ProductsAdjoint


class Reweighting(Protocol):
    """The cross-products as a function of the dispersion parameters γ."""

    @property
    def size(self) -> int:
        """m, the entries of γ."""
        ...

    @property
    def plain(self) -> CrossProducts:
        """A at γ = 0."""
        ...

    @property
    def squares(self) -> np.ndarray:
        """Shape (m,): Σᵢ X_ij² over the rows."""
        ...

    def at(self, gamma: np.ndarray) -> CrossProducts:
        """A(γ), with the weights' term."""
        ...

    def gamma_gradient(self, gamma: np.ndarray, adjoint: ProductsAdjoint) -> np.ndarray:
        """∂d/∂γ, shape (m,), of d₀(A(γ)) − log_weights(γ) given ∂d₀/∂A."""
        ...


class DispersionDeviance:
    """The objective x = (θ, γ) ↦ d(θ, γ) for the optimizers (`Differentiable`).

    Parameters
    ----------
    reweighting
        A(γ) and the chain rule through it.
    criterion
        ML or REML.
    """

    def __init__(self, reweighting: Reweighting, criterion: Criterion):
        self.reweighting = reweighting
        self.criterion = criterion
        plain = reweighting.plain
        self.layout = ThetaLayout.of(plain.structure.ks)
        self.evaluations = 0
        self._plain = ProfiledDeviance(plain, criterion)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """θ and γ of x."""
        return x[: self.layout.size], x[self.layout.size :]

    def at(self, gamma: np.ndarray) -> ProfiledDeviance:
        """θ ↦ d(θ, γ): the weighted model's criterion at these variance ratios."""
        return ProfiledDeviance(self.reweighting.at(gamma), self.criterion)

    @property
    def blas_threads(self) -> int | None:
        return self._plain.blas_threads

    def scale(self, x: np.ndarray) -> np.ndarray:
        """θ's natural units (`ProfiledDeviance.scale`), and for γ_j the step u_j at which
        the criterion's curvature in γ_j, about 2 Σᵢ X_ij² u_j² (the information on a log SD
        from the rows it reaches), equals the number of levels ℓ₁ of the first term, of the
        order of its curvature in θ's natural units.  With both of one order, a quasi-Newton
        method's first steps and its curvature model suit every entry: from 500 rows to 500k
        (where the curvature in θ grows with ℓ₁ as that in γ with the rows) the fits take
        about as many evaluations as the model with one residual SD, where a unit step in γ
        took up to three times as many on small data."""
        theta, _ = self.split(x)
        levels = self._plain.A.structure.nlevels[0]
        gamma_units = np.sqrt(levels / np.maximum(2.0 * self.reweighting.squares, 1e-300))
        return np.concatenate([self._plain.scale(theta), gamma_units])

    def flat_bounds(self, x: np.ndarray) -> np.ndarray:
        theta, gamma = self.split(x)
        return np.concatenate([self.layout.flat_bounds(theta), np.zeros(gamma.size, bool)])

    def lower_bounds(self) -> np.ndarray:
        size = self.reweighting.size
        return np.concatenate([self.layout.lower_bounds(), np.full(size, -np.inf)])

    def __call__(self, x: np.ndarray) -> float:
        self.evaluations += 1
        theta, gamma = self.split(np.asarray(x, dtype=float))
        return self.at(gamma)(theta)

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """d(θ, γ) and its gradient, shape (nθ + m,); inf and NaN where M is not positive
        definite."""
        value, gradient, _ = self._evaluated(x, None)
        return value, gradient

    def value_and_gradients_at(
        self, x: np.ndarray, sigma: float
    ) -> tuple[float, np.ndarray, float]:
        """The criterion at a given σ (`ProfiledDeviance.value_and_gradients_at`) with its
        gradient in x = (θ, γ) and ∂d/∂σ: what the Hessian in (θ, γ, σ) is differenced from."""
        return self._evaluated(x, sigma)

    def _evaluated(self, x: np.ndarray, sigma: float | None) -> tuple[float, np.ndarray, float]:
        self.evaluations += 1
        x = np.asarray(x, dtype=float)
        theta, gamma = self.split(x)
        plain = self.at(gamma)
        out = plain.evaluated(theta, sigma)
        if out is None:
            return np.inf, np.full(x.size, np.nan), np.nan
        d_gamma = self.reweighting.gamma_gradient(gamma, out.adjoint)
        A = plain.A
        d_sigma = (
            np.nan if sigma is None else self.criterion.sigma_gradient(out.pwrss, A.n, A.p, sigma)
        )
        return out.value, np.concatenate([out.gradient, d_gamma]), d_sigma
