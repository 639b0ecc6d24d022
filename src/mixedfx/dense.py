"""The profiled deviance of a small model, evaluated on A as one dense matrix.

With Λ̃ = blockdiag(Λ, I) (the identity on the X and y columns) and A = [Z X y]ᵀ[Z X y]
held densely (s × s, s = q + p + 1),

    M = Λ̃ᵀ A Λ̃ + diag(I_q, 0),   M = L Lᵀ (LAPACK dpotrf),

and the objective and its gradient follow from L alone:

    ∂d/∂Λ = 2 A Λ̃ M̄,   M̄ = ∂d/∂M (`mixedfx.gradient.factor_adjoint`),

read at Λ's non-zero positions and summed per θ entry.  The leading block of L is
blockdiag(L_g), the factors of the first term's levels, and its trailing block is the factor
of the Schur complement, so L is the blocked factor of `mixedfx.objective` in one piece.

The blocked evaluation spends its time on dozens of small array operations, each with a fixed
cost of microseconds; here an evaluation is a handful of BLAS and LAPACK calls on a matrix
of a few dozen rows: 2–3 times faster at s ≤ 30, and even near s = 50 (`DENSE_UP_TO`),
measured on random-slope, crossed and nested designs.  Above it the O(s³) work of the dense
products loses to the blocked method's, which grows only with the levels (and past about
120 rows the BLAS starts threads, which costs milliseconds at this size).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from mixedfx.covariance import ThetaLayout
from mixedfx.crossprod import CrossProducts
from mixedfx.factor import Factor
from mixedfx.gradient import factor_adjoint

DENSE_UP_TO = 50


def dense_size(A: CrossProducts, levels: tuple[int, ...], layout: ThetaLayout) -> int:
    """Rows of A held densely: s = q + p + 1."""
    return levels[0] * layout.ks[0] + A.r


class DenseEvaluation:
    """θ ↦ the factor (and the gradient) through A as one dense matrix.

    Parameters
    ----------
    A
        The cross-product blocks, assembled here into one dense matrix (not modified).
    layout, levels
        The terms' θ layout and level counts, model order.
    """

    def __init__(self, A: CrossProducts, layout: ThetaLayout, levels: tuple[int, ...]):
        self.A, self.layout = A, layout
        self.q1 = levels[0] * layout.ks[0]
        self.q = self.q1 + A.q_rest
        self.full = _assemble(A, self.q1)
        s = self.full.shape[0]
        self.positions, self.which = _lambda_positions(layout, levels, s)
        self.Lambda = np.eye(s)
        self.random_diagonal = np.arange(self.q) * (s + 1)
        self.first_blocks = _block_positions(levels[0], layout.ks[0], s)

    def factor(self, theta: np.ndarray) -> Factor | None:
        """The blocked factor at θ, or None when M is not positive definite."""
        L = self._lower(theta)
        return None if L is None else self._blocked(theta, L)

    def factor_and_gradient(
        self, theta: np.ndarray, reml: bool
    ) -> tuple[Factor, np.ndarray] | None:
        """The factor and ∂d/∂θ (shape (nθ,)) at θ; None when M is not positive definite."""
        L = self._lower(theta)
        if L is None:
            return None
        p, n = self.A.p, self.A.n
        Mbar = factor_adjoint(L, self.q + (p if reml else 0), n - p if reml else n)
        G = (self.full @ self.Lambda) @ Mbar
        gradient = 2.0 * np.bincount(
            self.which, weights=G.flat[self.positions], minlength=self.layout.size
        )
        return self._blocked(theta, L), gradient

    def _lower(self, theta: np.ndarray) -> np.ndarray | None:
        """L (lower; its strict upper triangle is stale) of M at θ."""
        self.Lambda.flat[self.positions] = theta[self.which]
        M = self.Lambda.T @ self.full @ self.Lambda
        M.flat[self.random_diagonal] += 1.0
        # M is symmetric, so Mᵀ is M's memory in LAPACK's Fortran order; its upper factor is Lᵀ
        U, info = lapack.dpotrf(M.T, lower=0, clean=0, overwrite_a=1)
        return U.T if info == 0 else None

    def _blocked(self, theta: np.ndarray, L: np.ndarray) -> Factor:
        k1 = self.layout.ks[0]
        L11 = np.tril(L.flat[self.first_blocks].reshape(-1, k1, k1))
        return Factor(
            theta,
            self.layout.templates(theta),
            L11,
            L[self.q1 :, self.q1 :],
            self.A.q_rest,
            self.A.p,
            self.A.n,
        )


def _assemble(A: CrossProducts, q1: int) -> np.ndarray:
    """[[blockdiag(A11), Bᵀ], [B, R]] as one dense (s, s) array."""
    ell, k, _ = A.A11.shape
    B = A.B.matrix
    B = B.toarray() if hasattr(B, "toarray") else np.asarray(B)
    full = np.zeros((q1 + A.r, q1 + A.r))
    full.flat[_block_positions(ell, k, q1 + A.r)] = A.A11.ravel()
    full[q1:, :q1] = B
    full[:q1, q1:] = B.T
    full[q1:, q1:] = A.R
    return full


def _block_positions(ell: int, k: int, s: int) -> np.ndarray:
    """Flat positions in an (s, s) array of the k × k diagonal blocks of its first ℓk rows,
    shape (ℓ k k,), in (level, row, column) order."""
    base = k * np.arange(ell)
    rows = base[:, None, None] + np.arange(k)[None, :, None]
    cols = base[:, None, None] + np.arange(k)[None, None, :]
    return (rows * s + cols).ravel()


def _lambda_positions(
    layout: ThetaLayout, levels: tuple[int, ...], s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions in Λ̃ (s × s) of every template entry of every level, and the θ index
    each holds."""
    positions, which = [], []
    start = 0
    for j, (k, ell) in enumerate(zip(layout.ks, levels)):
        rows, cols = layout.positions[j]
        base = start + k * np.arange(ell)[:, None]
        positions.append(((base + rows) * s + base + cols).ravel())
        which.append(np.tile(layout.offsets[j] + np.arange(rows.size), ell))
        start += ell * k
    return np.concatenate(positions), np.concatenate(which)
