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

from functools import cached_property
from typing import Protocol

import numpy as np
from scipy.linalg import lapack

from mixedfx.crossprod.products import DENSE_UP_TO, CrossProducts
from mixedfx.pls.blockdiag import batched_cholesky, batched_lower_solve, congruence, gram
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.dense import DenseEvaluation
from mixedfx.pls.factor import Factor, mirror_diagonal_blocks, scale_rows
from mixedfx.pls.gradient import Tape, deviance_gradient

# Below this many rows of M an evaluation runs its BLAS calls on one thread.  Measured on 2
# cores: one thread fits InstEval (M 1146 × 1146) in 0.83 s instead of 1.06 s and the 3 × 3
# crossed model (604) in 0.90 s instead of 1.63 s (idle threads spinning between the many
# short calls cost more than the split saves); the MovieLens-sized model (3708) in 15.3 s
# instead of 12.6 s.
BLAS_THREADS_FROM = 2000


class ProfiledDeviance:
    """The objective θ ↦ d(θ) with its workspace (the cross-products and the term layout).

    Small models are evaluated on A as one dense matrix (`mixedfx.pls.dense`), others blockwise
    (`BlockedEvaluation`); both give the same blocked factor.

    Parameters
    ----------
    A
        The cross-product blocks; never modified.
    layout
        Where each term's template lives in θ.
    levels
        The number of levels of each term, model order.
    reml
        Minimize the REML criterion (True) or the ML deviance (False).
    dense
        Evaluate on A as one dense matrix (True) or blockwise (False); by default dense when
        A has at most `DENSE_UP_TO` rows, where that is faster.
    """

    def __init__(
        self,
        A: CrossProducts,
        layout: ThetaLayout,
        levels: tuple[int, ...],
        reml: bool,
        dense: bool | None = None,
    ):
        self.A = A
        self.layout = layout
        self.levels = levels
        self.reml = reml
        self.evaluations = 0
        if dense is None:
            dense = A.size <= DENSE_UP_TO
        self._evaluation: Evaluation = (DenseEvaluation if dense else BlockedEvaluation)(
            A, layout, levels
        )

    @property
    def blas_threads(self) -> int | None:
        """One thread below `BLAS_THREADS_FROM` rows of M; None (all) above."""
        return 1 if self.A.r < BLAS_THREADS_FROM else None

    def flat_bounds(self, theta: np.ndarray) -> np.ndarray:
        """θ entries at a bound where the objective is flat to first order (`ThetaLayout`)."""
        return self.layout.flat_bounds(theta)

    def scale(self, theta: np.ndarray) -> np.ndarray:
        """Shape (nθ,): the natural size of each θ entry near θ, the larger of the norm of
        its template row (`ThetaLayout.row_norms`) and 1 / rms of the row's covariate (the θ
        at which the random effect's standard deviation equals σ).

        θ / scale is free of the covariates' units, and of the ratio of the random effects'
        variances to the residual's where that is large: the units in which optimizers and
        finite differences take their steps.  Smaller rows keep the covariate's unit, in
        which a step of order one reaches a zero variance.
        """
        return np.maximum(self.layout.row_norms(theta), self._covariate_units)

    @cached_property
    def _covariate_units(self) -> np.ndarray:
        """Shape (nθ,): 1 / rms of the covariate of each entry's row, from the diagonals of A."""
        first = np.diagonal(self.A.A11, axis1=1, axis2=2).sum(axis=0)
        diagonal = np.diag(self.A.R)
        sums, start = [first], 0
        for ell, k in zip(self.levels[1:], self.layout.ks[1:]):
            sums.append(diagonal[start : start + ell * k].reshape(ell, k).sum(axis=0))
            start += ell * k
        rms = np.sqrt(np.concatenate(sums) / self.A.n)
        first_covariate = np.cumsum([0, *self.layout.ks[:-1]])
        rows = [first_covariate[j] + rows for j, (rows, _) in enumerate(self.layout.positions)]
        return 1.0 / rms[np.concatenate(rows)]

    def criterion(self, factor: Factor) -> float:
        """The minimized quantity at a factor: REML criterion or ML deviance."""
        return factor.criterion(self.reml)

    def __call__(self, theta: np.ndarray) -> float:
        self.evaluations += 1
        factor = self.factor(theta)
        if factor is None:
            return np.inf
        return self.criterion(factor)

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """d(θ) and ∂d/∂θ (shape (nθ,)), the gradient by `mixedfx.pls.gradient`; one evaluation.

        Where M is not positive definite the value is inf and the gradient NaN.
        """
        self.evaluations += 1
        out = self._evaluation.value_and_gradient(np.asarray(theta, dtype=float), self.reml)
        if out is None:
            return np.inf, np.full(len(theta), np.nan)
        return out[0], out[1]

    def value_and_gradients_at(
        self, theta: np.ndarray, sigma: float
    ) -> tuple[float, np.ndarray, float]:
        """The criterion at a given σ instead of profiled over it (`Factor.criterion`), with
        ∂d/∂θ (shape (nθ,)) and ∂d/∂σ = 2(ν − r²/σ²)/σ; one evaluation.

        Where M is not positive definite the value is inf and the gradients NaN.
        """
        self.evaluations += 1
        theta = np.asarray(theta, dtype=float)
        out = self._evaluation.value_and_gradient(theta, self.reml, sigma)
        if out is None:
            return np.inf, np.full(len(theta), np.nan), np.nan
        value, gradient, pwrss = out
        nu = self.A.n - self.A.p if self.reml else self.A.n
        return value, gradient, 2.0 * (nu - pwrss / sigma**2) / sigma

    def factor(self, theta: np.ndarray) -> Factor | None:
        """The blocked Cholesky factor at θ, or None when M is not positive definite."""
        return self._evaluation.factor(np.asarray(theta, dtype=float))


class Evaluation(Protocol):
    """θ ↦ the blocked factor, or the criterion with its gradient; None where M is not
    positive definite."""

    def factor(self, theta: np.ndarray) -> Factor | None: ...

    def value_and_gradient(
        self, theta: np.ndarray, reml: bool, sigma: float | None = None
    ) -> tuple[float, np.ndarray, float] | None:
        """The criterion (profiled over σ, or at `sigma`), its gradient and r²."""
        ...


class BlockedEvaluation:
    """The factorization block by block (steps 1–2 above) and its reverse pass."""

    def __init__(self, A: CrossProducts, layout: ThetaLayout, levels: tuple[int, ...]):
        self.A = A
        self.layout = layout
        k_rest = layout.ks[1:]
        bounds = np.cumsum([0] + [ell * k for ell, k in zip(levels[1:], k_rest)])
        self._rest = [(slice(int(a), int(b)), k) for a, b, k in zip(bounds, bounds[1:], k_rest)]
        self._eye1 = np.eye(layout.ks[0])

    def factor(self, theta: np.ndarray) -> Factor | None:
        tape = self._forward(theta, keep=None)
        return None if tape is None else tape.factor

    def value_and_gradient(
        self, theta: np.ndarray, reml: bool, sigma: float | None = None
    ) -> tuple[float, np.ndarray, float] | None:
        tape = self._forward(theta, keep=reml, sigma=sigma)
        if tape is None:
            return None
        rest = [(rows, T) for (rows, _), T in zip(self._rest, tape.factor.templates[1:])]
        gradient = deviance_gradient(self.A, self.layout, rest, tape)
        return tape.factor.criterion(reml, sigma), gradient, tape.factor.pwrss

    def _forward(
        self, theta: np.ndarray, keep: bool | None, sigma: float | None = None
    ) -> Tape | None:
        """The factorization; unless `keep` is None, also what the reverse pass of the
        criterion (REML if `keep`; at `sigma` if given) reads."""
        templates = self.layout.templates(theta)
        T1 = templates[0]
        S = congruence(self.A.A11, T1) + self._eye1
        L11 = batched_cholesky(S)
        W = gram(batched_lower_solve(L11, T1.T))  # T₁ S_g⁻¹ T₁ᵀ per level
        M = self.A.R.copy()
        self.A.B.subtract_schur(M, W)
        N = M if keep is None else M.copy()
        for (rows, k), T in zip(self._rest, templates[1:]):
            mirror_diagonal_blocks(M, rows, k)
            scale_rows(M, rows, T)
            scale_rows(M.T, rows, T)
        q = self.A.q_rest
        M.flat[: q * (self.A.r + 1) : self.A.r + 1] += 1.0  # the diagonal of the random part
        # Mᵀ is M's memory in the Fortran order LAPACK wants (no copy); its upper triangle is
        # M's lower, the one that is up to date.  The upper factor U of Mᵀ is Lᵀ.
        U, info = lapack.dpotrf(M.T, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return None
        factor = Factor(theta, templates, L11, U.T, q, self.A.p, self.A.n)
        return Tape(factor, W, N, bool(keep), sigma)
