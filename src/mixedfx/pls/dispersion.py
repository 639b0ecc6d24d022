"""The profiled criterion of a model whose residual variance differs between strata of rows.

Row i of stratum s has residual variance σ² δ_s², log δ = D γ (D: S × m, the dispersion
design by stratum; its reference stratum, a row of zeros, has δ = 1 and residual SD σ).  For
fixed γ this is a weighted linear mixed model with weights w_s = δ_s⁻², so with
A(γ) = Σ_s w_s A_s (`mixedfx.crossprod.strata`) the criterion, profiled over β and σ, is

    d(θ, γ) = d₀(θ; A(γ)) − Σ_s n_s log w_s,

d₀ the ML or REML criterion of `mixedfx.pls.deviance` (the weights' term is carried by
A(γ)).  Its gradient in θ is d₀'s; in γ, by the chain rule through A's blocks,

    ∂d/∂γ_j = Σ_s ∂w_s/∂γ_j (⟨∂d₀/∂A, A_s⟩ − n_s / w_s),   ∂w_s/∂γ_j = −2 D_sj w_s,

one inner product per stratum with the adjoint the θ gradient has already computed: an
evaluation costs one of the homoscedastic model's plus the combination of the strata.
"""

from __future__ import annotations

import numpy as np

from mixedfx.crossprod.strata import Strata
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.deviance import ProfiledDeviance


class DispersionDeviance:
    """The objective x = (θ, γ) ↦ d(θ, γ) for the optimizers (`Differentiable`).

    Parameters
    ----------
    strata
        The cross-products of each stratum.
    D
        Shape (S, m): log δ_s = (D γ)_s.
    criterion
        ML or REML.
    """

    def __init__(self, strata: Strata, D: np.ndarray, criterion: Criterion):
        self.strata = strata
        self.D = np.asarray(D, dtype=float)
        self.criterion = criterion
        self.layout = ThetaLayout.of(strata.parts[0].structure.ks)
        self.evaluations = 0
        self._plain = ProfiledDeviance(strata.parts[0], criterion)

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """θ and γ of x."""
        return x[: self.layout.size], x[self.layout.size :]

    def weights(self, gamma: np.ndarray) -> np.ndarray:
        """Shape (S,): w_s = δ_s⁻² = exp(−2 (D γ)_s)."""
        return np.exp(-2.0 * (self.D @ gamma))

    def at(self, gamma: np.ndarray) -> ProfiledDeviance:
        """θ ↦ d(θ, γ): the weighted model's criterion at these variance ratios."""
        return ProfiledDeviance(self.strata.combined(self.weights(gamma)), self.criterion)

    @property
    def blas_threads(self) -> int | None:
        return self._plain.blas_threads

    def scale(self, x: np.ndarray) -> np.ndarray:
        """θ's natural units (`ProfiledDeviance.scale`) and 1 for γ, a log ratio."""
        theta, gamma = self.split(x)
        return np.concatenate([self._plain.scale(theta), np.ones(gamma.size)])

    def flat_bounds(self, x: np.ndarray) -> np.ndarray:
        theta, gamma = self.split(x)
        return np.concatenate([self.layout.flat_bounds(theta), np.zeros(gamma.size, bool)])

    def lower_bounds(self) -> np.ndarray:
        return np.concatenate([self.layout.lower_bounds(), np.full(self.D.shape[1], -np.inf)])

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
        w = self.weights(gamma)
        plain = self.at(gamma)
        out = plain.evaluated(theta, sigma)
        if out is None:
            return np.inf, np.full(x.size, np.nan), np.nan
        along = np.array([out.adjoint.inner(part) for part in self.strata.parts])
        d_w = along - self.strata.counts / w
        d_gamma = self.D.T @ (-2.0 * w * d_w)
        A = plain.A
        d_sigma = (
            np.nan if sigma is None else self.criterion.sigma_gradient(out.pwrss, A.n, A.p, sigma)
        )
        return out.value, np.concatenate([out.gradient, d_gamma]), d_sigma
