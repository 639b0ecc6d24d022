"""The Hessian of the deviance in varpar = (θ, σ) from the exact gradient.

lmerTest (Kuznetsova et al. 2017, JSS 82(13)) differentiates the deviance at given σ,
d(θ, σ) = logdet(θ) + r²(θ)/σ² + ν log(2πσ²), twice by Richardson-extrapolated finite
differences of its values (numDeriv), some hundred refactorizations.  Here the θ-gradient
and ∂d/∂σ come exact from one reverse pass (`ProfiledDeviance.value_and_gradients_at`), so

    ∂²d/∂θ∂θ_i and ∂²d/∂σ∂θ_i   by central differences of (∂d/∂θ, ∂d/∂σ) along θ_i,
    ∂²d/∂σ² = −2ν/σ² + 6r²/σ⁴ = 4r²/σ⁴   at σ² = r²/ν, the σ that minimizes d,

2 nθ gradient evaluations in all.  The central differences of a function whose third
derivatives are of order one in the parameters' natural units err by about STEP² relative:
the steps are STEP times each θ entry's natural size (`ProfiledDeviance.scale`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from mixedfx.pls.threads import blas_limit

STEP = 1e-4  # central-difference step, relative to each θ entry's natural size


class GradientsAtSigma(Protocol):
    """The criterion at a given σ with ∂d/∂θ and ∂d/∂σ (`ProfiledDeviance`)."""

    @property
    def blas_threads(self) -> int | None:
        """The BLAS threads an evaluation runs best on (None: all)."""
        ...

    def value_and_gradients_at(
        self, theta: np.ndarray, sigma: float
    ) -> tuple[float, np.ndarray, float]: ...


def varpar_hessian(
    objective: GradientsAtSigma,
    theta: np.ndarray,
    sigma: float,
    pwrss: float,
    units: np.ndarray,
) -> np.ndarray:
    """The Hessian of d(θ, σ) at (θ, σ), σ the minimizer over σ at θ (σ² = r²/ν).

    Parameters
    ----------
    objective
        The criterion whose gradients are differenced.
    theta, sigma
        Where; shape (nθ,) and a scalar.
    pwrss
        r² at θ.
    units
        Shape (nθ,): the natural size of each θ entry (the steps are `STEP` times it).

    Returns
    -------
    ndarray
        Shape (nθ + 1, nθ + 1), symmetric; σ last.
    """
    k = theta.size
    H = np.empty((k + 1, k + 1))
    with blas_limit(objective.blas_threads):
        for i, h in enumerate(STEP * units):
            step = np.zeros(k)
            step[i] = h
            _, up, sigma_up = objective.value_and_gradients_at(theta + step, sigma)
            _, down, sigma_down = objective.value_and_gradients_at(theta - step, sigma)
            H[:k, i] = (up - down) / (2 * h)
            H[k, i] = (sigma_up - sigma_down) / (2 * h)
    H[:k, :k] = (H[:k, :k] + H[:k, :k].T) / 2
    H[:k, k] = H[k, :k]
    H[k, k] = 4.0 * pwrss / sigma**4
    return H
