"""The profiled deviance of a small model, evaluated on A as one dense matrix.

With Λ̃ = blockdiag(Λ, I) (the identity on the X and y columns) and A = [Z X y]ᵀ[Z X y]
held densely (s × s, s = q + p + 1),

    M = Λ̃ᵀ A Λ̃ + diag(I_q, 0),   M = L Lᵀ (LAPACK dpotrf),

and the objective and its gradient follow from L alone:

    ∂d/∂Λ = 2 A Λ̃ M̄,   M̄ = ∂d/∂M = L⁻ᵀ D L⁻¹ (D diagonal),

read at Λ's non-zero positions and summed per θ entry.  The leading block of L is
blockdiag(L_g), the factors of the first term's levels, and its trailing block is the factor
of the Schur complement, so L is the blocked factor of `mixedfx.pls.deviance` in one piece.

The blocked evaluation spends its time on many small array operations, each with a fixed
cost; here an evaluation is a handful of BLAS and LAPACK calls on one matrix of order s.
That wins while s is small (`mixedfx.crossprod.products.DENSE_UP_TO`); for larger s the
O(s³) dense work loses to the blocked method's, which grows only with the levels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from mixedfx.crossprod.products import CrossProducts, block_positions
from mixedfx.pls.cholesky import BlockedCholesky
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.evaluated import Evaluated


class DenseEvaluation:
    """θ ↦ the factor, or the criterion and its gradient, through A as one dense matrix.

    Parameters
    ----------
    A
        The cross-product blocks, assembled here into one dense matrix (not modified).
    layout
        θ's layout over A's terms.
    """

    def __init__(self, A: CrossProducts, layout: ThetaLayout):
        structure = A.structure
        self.layout = layout
        self.structure = structure
        self.n = A.n
        s = A.size
        self.first_blocks = block_positions(structure.nlevels[0], layout.ks[0], s)
        self.full = A.dense
        self.positions, self.which = _lambda_positions(layout, structure.nlevels, s)
        self.Lambda = np.eye(s)
        self.random_diagonal = np.arange(structure.q) * (s + 1)

    def factor(self, theta: np.ndarray) -> BlockedCholesky | None:
        """The blocked factor at θ, or None when M is not positive definite."""
        U = self._upper(self._scaled(theta))
        return None if U is None else self._blocked(theta, U.T)

    def value_and_gradient(
        self, theta: np.ndarray, criterion: Criterion, sigma: float | None = None
    ) -> Evaluated | None:
        """The criterion (profiled over σ, or at `sigma`), ∂d/∂θ (shape (nθ,)), r² and ∂d/∂A
        at θ; None when M is not positive definite.

        With L⁻¹ from the factor, M̄ = L⁻ᵀ D L⁻¹, D = diag(1 on the first m rows, c on the
        last): the first part is the derivative of log|M[:m, :m]|, whose inverse is the product
        of the leading blocks of L⁻¹, the second that of the r² term, as
        r⁻² = (M⁻¹)_ss = ‖L⁻¹ row s‖² and ∂r²/∂M = r⁴ ∂(M⁻¹)_ss/∂M: c = r² ∂d/∂r², which is ν
        for ν log r² (profiled) and r²/σ² at a given σ.
        """
        FLambda = self._scaled(theta)
        U = self._upper(FLambda)
        if U is None:
            return None
        q, p, n = self.structure.q, self.structure.p, self.n
        m = criterion.determinant_columns(q, p)
        d = np.diagonal(U)
        logdet, pwrss = 2.0 * float(np.log(d[:m]).sum()), float(d[-1] ** 2)
        value = criterion.value(logdet, pwrss, n, p, sigma)
        weights = np.zeros(d.size)  # √D
        weights[:m] = 1.0
        weights[-1] = np.sqrt(pwrss * criterion.pwrss_weight(pwrss, n, p, sigma))
        P = lapack.dtrtri(U, lower=0)[0].T  # L⁻¹ (lower; U is clean, so is its inverse)
        P *= weights[:, None]
        Mbar = P.T @ P
        G = FLambda @ Mbar
        gradient = np.bincount(self.which, weights=G.flat[self.positions], minlength=theta.size)
        adjoint = DenseAdjoint(self.Lambda @ Mbar @ self.Lambda.T)
        return Evaluated(value, 2.0 * gradient, pwrss, adjoint)

    def _scaled(self, theta: np.ndarray) -> np.ndarray:
        """A Λ̃ at θ, shape (s, s)."""
        self.Lambda.flat[self.positions] = theta[self.which]
        return self.full @ self.Lambda

    def _upper(self, FLambda: np.ndarray) -> np.ndarray | None:
        """U = Lᵀ, M = L Lᵀ (Fortran order, strict lower triangle zero), or None."""
        M = self.Lambda.T @ FLambda
        M.flat[self.random_diagonal] += 1.0
        # M is symmetric, so Mᵀ is M's memory in LAPACK's Fortran order
        U, info = lapack.dpotrf(M.T, lower=0, clean=1, overwrite_a=1)
        return U if info == 0 else None

    def _blocked(self, theta: np.ndarray, L: np.ndarray) -> BlockedCholesky:
        k1, q1 = self.layout.ks[0], self.structure.q1
        return BlockedCholesky(
            theta,
            self.layout.templates(theta),
            L.flat[self.first_blocks].reshape(-1, k1, k1),
            L[q1:, q1:],
            self.structure.q_rest,
            self.structure.p,
            self.n,
        )


@dataclass(frozen=True)
class DenseAdjoint:
    """∂d/∂A = Λ̃ M̄ Λ̃ᵀ, shape (s, s), with A as one dense symmetric matrix
    (`CrossProducts.dense`)."""

    Abar: np.ndarray

    def inner(self, other: CrossProducts) -> float:
        """⟨∂d/∂A, A'⟩ over every entry of the dense A' (`ProductsAdjoint`)."""
        return float(np.vdot(self.Abar, other.dense))


@functools.cache
def _lambda_positions(
    layout: ThetaLayout, nlevels: tuple[int, ...], s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions in Λ̃ (s × s) of every template entry of every level, and the θ index
    each holds."""
    positions, which = [], []
    start = 0
    for j, (k, ell) in enumerate(zip(layout.ks, nlevels)):
        rows, cols = layout.positions[j]
        base = start + k * np.arange(ell)[:, None]
        positions.append(((base + rows) * s + base + cols).ravel())
        entries = layout.offsets[j] + np.arange(rows.size)
        which.append(np.broadcast_to(entries, (ell, rows.size)).ravel())
        start += ell * k
    return np.concatenate(positions), np.concatenate(which)
