"""Stage 5, objective: the profiled deviance θ ↦ d(θ) from the blocks of A.

For given θ the blocked Cholesky factor of

    [ΛᵀZᵀZΛ + I   ΛᵀZᵀX   ΛᵀZᵀy]
    [   XᵀZΛ       XᵀX     Xᵀy ]
    [   yᵀZΛ       yᵀX     yᵀy ]

is computed in two steps (Bates et al. 2015, JSS 67(1), §3; MixedModels.jl `updateL!`):

1. the first term's block, S_g = T₁ᵀ A11_g T₁ + I, factored level by level, S_g = L_g L_gᵀ;
2. the Schur complement of the rest,
   M = Λ_rᵀ (R − B · blockdiag(T₁ S_g⁻¹ T₁ᵀ) · Bᵀ) Λ_r + diag(I_q_rest, 0),
   factored densely by LAPACK (dpotrf).

The last diagonal element of M's factor, squared, is the penalized residual sum of squares r²;
the log-determinants come from the diagonals.  Nothing here touches an n-length array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from mixedfx.covariance import ThetaLayout
from mixedfx.crossprod import CrossProducts
from mixedfx.linalg import batched_cholesky, batched_lower_solve, congruence, gram

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Factor:
    """The blocked Cholesky factor at one θ.

    Attributes
    ----------
    theta
        The θ it was computed at.
    templates
        The templates T_j (k_j × k_j), model term order.
    L11
        Shape (ℓ₁, k₁, k₁): factors of the first term's diagonal blocks.
    Lrest
        Shape (r, r): lower factor of M (its strict upper triangle is not meaningful).
    q_rest, p, n
        Block sizes.
    """

    theta: np.ndarray
    templates: list[np.ndarray]
    L11: np.ndarray
    Lrest: np.ndarray
    q_rest: int
    p: int
    n: int

    @property
    def logdet_Z(self) -> float:
        """log |L_Z|²: log-determinant of ΛᵀZᵀZΛ + I."""
        d1 = np.diagonal(self.L11, axis1=1, axis2=2)
        d2 = np.diag(self.Lrest)[: self.q_rest]
        return 2.0 * float(np.log(d1).sum() + np.log(d2).sum())

    @property
    def logdet_X(self) -> float:
        """log |L_X|²: the REML correction."""
        dx = np.diag(self.Lrest)[self.q_rest : self.q_rest + self.p]
        return 2.0 * float(np.log(dx).sum())

    @property
    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares r² = ‖y − Xβ − ZΛu‖² + ‖u‖²."""
        return float(self.Lrest[-1, -1] ** 2)


def ml_deviance(f: Factor) -> float:
    """−2 × profiled log-likelihood: log|L_Z|² + n (1 + log(2π r²/n))."""
    return f.logdet_Z + f.n * (1.0 + LOG_2PI + np.log(f.pwrss / f.n))


def reml_criterion(f: Factor) -> float:
    """−2 × profiled REML log-likelihood: log|L_Z|² + log|L_X|² + (n−p)(1 + log(2π r²/(n−p)))."""
    nu = f.n - f.p
    return f.logdet_Z + f.logdet_X + nu * (1.0 + LOG_2PI + np.log(f.pwrss / nu))


Criterion = Callable[[Factor], float]


class ProfiledDeviance:
    """The objective θ ↦ d(θ) with its workspace (the cross-products and the term layout).

    Parameters
    ----------
    A
        The cross-product blocks; never modified.
    layout
        Where each term's template lives in θ.
    ks_rest
        Coefficients per level of terms 2..m, with `levels_rest` their numbers of levels.
    criterion
        `ml_deviance` or `reml_criterion`.
    """

    def __init__(
        self,
        A: CrossProducts,
        layout: ThetaLayout,
        levels_rest: tuple[int, ...],
        criterion: Criterion,
    ):
        self.A = A
        self.layout = layout
        self.criterion = criterion
        self.evaluations = 0
        k_rest = layout.ks[1:]
        bounds = np.cumsum([0] + [ell * k for ell, k in zip(levels_rest, k_rest)])
        self._rest = [(slice(int(a), int(b)), k) for a, b, k in zip(bounds, bounds[1:], k_rest)]
        self._eye1 = np.eye(layout.ks[0])

    def __call__(self, theta: np.ndarray) -> float:
        self.evaluations += 1
        factor = self.factor(theta)
        if factor is None:
            return np.inf
        return self.criterion(factor)

    def factor(self, theta: np.ndarray) -> Factor | None:
        """The blocked Cholesky factor at θ, or None when M is not positive definite."""
        theta = np.asarray(theta, dtype=float)
        templates = self.layout.templates(theta)
        T1 = templates[0]
        S = congruence(self.A.A11, T1) + self._eye1
        L11 = batched_cholesky(S)
        W = gram(batched_lower_solve(L11, T1.T))  # T₁ S_g⁻¹ T₁ᵀ per level
        M = self.A.R.copy()
        self.A.B.subtract_schur(M, W)
        for (rows, _), T in zip(self._rest, templates[1:]):
            scale_rows(M, rows, T)
            scale_rows(M.T, rows, T)
        q = self.A.q_rest
        M.flat[: q * (self.A.r + 1) : self.A.r + 1] += 1.0  # the diagonal of the random part
        # Mᵀ is M's memory in the Fortran order LAPACK wants (no copy); its upper triangle is
        # M's lower, the one that is up to date.  The upper factor U of Mᵀ is Lᵀ.
        U, info = lapack.dpotrf(M.T, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return None
        return Factor(theta, templates, L11, U.T, q, self.A.p, self.A.n)


def scale_rows(M: np.ndarray, rows: slice, T: np.ndarray) -> None:
    """In place: M[rows] ← blockdiag(Tᵀ) · M[rows], one k × k block per level."""
    k = T.shape[0]
    block = M[rows]
    if k == 1:
        block *= T[0, 0]
        return
    stacked = block.reshape(-1, k, block.shape[1])
    block[...] = np.einsum("ba,gbc->gac", T, stacked).reshape(block.shape)
