"""Stage 5, objective: the profiled criterion θ ↦ d(θ) from the blocks of A.

`ProfiledDeviance` is the objective the optimizers minimize: it owns the mutable workspace
(evaluation counts, the dense or blocked evaluation's buffers) around immutable
cross-products, and evaluates one `Criterion` (ML or REML).  Nothing here touches an
n-length array.

With prior weights the factor is that of the scaled rows (`mixedfx.crossprod.products`), and
the criterion of y is the scaled rows' less Σ log wᵢ (`CrossProducts.log_weights`), a constant
in θ and σ: it moves the values, not the gradients.
"""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

import numpy as np

from mixedfx.crossprod.products import DENSE_UP_TO, CrossProducts
from mixedfx.pls.blocked import BlockedEvaluation
from mixedfx.pls.cholesky import BlockedCholesky
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.dense import DenseEvaluation
from mixedfx.pls.evaluated import Evaluated
from mixedfx.pls.threads import blas_limit, idle_cores

# Below this many rows of M an evaluation runs its BLAS calls on one thread: between many
# short calls, idle threads spinning cost more than splitting the work saves
# (benchmarks/README.md has the measurements).
BLAS_THREADS_FROM = 2000


class ProfiledDeviance:
    """The objective θ ↦ d(θ) with its workspace (the cross-products and the term layout).

    Small models are evaluated on A as one dense matrix (`mixedfx.pls.dense`), others blockwise
    (`BlockedEvaluation`); both give the same blocked factor.

    Parameters
    ----------
    A
        The cross-product blocks; never modified.
    criterion
        What to minimize: `ML` or `REML`.
    dense
        Evaluate on A as one dense matrix (True) or blockwise (False); by default dense when
        A has at most `DENSE_UP_TO` rows, where that is faster.
    """

    def __init__(self, A: CrossProducts, criterion: Criterion, dense: bool | None = None):
        self.A = A
        self.criterion = criterion
        self.layout = ThetaLayout.of(A.structure.ks)
        self.evaluations = 0
        if dense is None:
            dense = A.size <= DENSE_UP_TO
        self._evaluation: Evaluation = (DenseEvaluation if dense else BlockedEvaluation)(
            A, self.layout
        )

    @property
    def blas_threads(self) -> int | None:
        """One thread below `BLAS_THREADS_FROM` rows of M; the idle cores above."""
        return 1 if self.A.r < BLAS_THREADS_FROM else idle_cores()

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
        structure = self.A.structure
        first = np.diagonal(self.A.A11, axis1=1, axis2=2).sum(axis=0)
        diagonal = np.diag(self.A.R)
        sums = [first]
        for block, k in zip(structure.rest_slices, structure.ks[1:]):
            sums.append(diagonal[block].reshape(-1, k).sum(axis=0))
        rms = np.sqrt(np.concatenate(sums) / self.A.n)
        first_covariate = np.cumsum([0, *self.layout.ks[:-1]])
        rows = [first_covariate[j] + rows for j, (rows, _) in enumerate(self.layout.positions)]
        return 1.0 / rms[np.concatenate(rows)]

    def __call__(self, theta: np.ndarray) -> float:
        self.evaluations += 1
        chol = self.factor(theta)
        if chol is None:
            return np.inf
        return self.at(chol)

    def at(self, chol: BlockedCholesky, sigma: float | None = None) -> float:
        """The criterion at a factor of these cross-products, profiled over σ or at `sigma`,
        with the weights' term."""
        return self.criterion.at(chol, sigma) - self.A.log_weights

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """d(θ) and ∂d/∂θ (shape (nθ,)), the gradient by `mixedfx.pls.gradient`; one evaluation.

        Where M is not positive definite the value is inf and the gradient NaN.
        """
        out = self.evaluated(theta)
        if out is None:
            return np.inf, np.full(len(theta), np.nan)
        return out.value, out.gradient

    def evaluated(self, theta: np.ndarray, sigma: float | None = None) -> Evaluated | None:
        """The criterion at θ (profiled over σ, or at `sigma`, with the weights' term) and its
        derivatives, among them ∂d/∂A; one evaluation.  None where M is not positive
        definite."""
        self.evaluations += 1
        out = self._evaluation.value_and_gradient(
            np.asarray(theta, dtype=float), self.criterion, sigma
        )
        if out is None:
            return None
        return Evaluated(out.value - self.A.log_weights, out.gradient, out.pwrss, out.adjoint)

    def value_and_gradients_at(
        self, theta: np.ndarray, sigma: float
    ) -> tuple[float, np.ndarray, float]:
        """The criterion at a given σ instead of profiled over it (`Criterion.value`), with
        ∂d/∂θ (shape (nθ,)) and ∂d/∂σ = 2(ν − r²/σ²)/σ; one evaluation.

        Where M is not positive definite the value is inf and the gradients NaN.
        """
        out = self.evaluated(theta, sigma)
        if out is None:
            return np.inf, np.full(len(theta), np.nan), np.nan
        sigma_gradient = self.criterion.sigma_gradient(out.pwrss, self.A.n, self.A.p, sigma)
        return out.value, out.gradient, sigma_gradient

    def factor(self, theta: np.ndarray) -> BlockedCholesky | None:
        """The blocked Cholesky factor at θ, or None when M is not positive definite.

        A blocked evaluation runs under `blas_threads` here too, as it is also called outside
        the optimizer (at the optimum, by inference); a dense one is too small for BLAS to
        split, and setting a limit would cost more than the evaluation.
        """
        theta = np.asarray(theta, dtype=float)
        if isinstance(self._evaluation, DenseEvaluation):
            return self._evaluation.factor(theta)
        with blas_limit(self.blas_threads):
            return self._evaluation.factor(theta)


class Evaluation(Protocol):
    """θ ↦ the blocked factor, or the criterion with its gradient; None where M is not
    positive definite."""

    def factor(self, theta: np.ndarray) -> BlockedCholesky | None: ...

    def value_and_gradient(
        self, theta: np.ndarray, criterion: Criterion, sigma: float | None = None
    ) -> Evaluated | None:
        """The criterion (profiled over σ, or at `sigma`) with its derivatives."""
        ...
