"""The profiled criterion from the blocks of A, factored block by block.

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

import numpy as np
from scipy.linalg import lapack

from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.blockdiag import batched_cholesky, batched_lower_solve, congruence, gram
from mixedfx.pls.cholesky import BlockedCholesky, mirror_diagonal_blocks, scale_rows
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.evaluated import Evaluated
from mixedfx.pls.gradient import Tape, deviance_gradient


class BlockedEvaluation:
    """The factorization block by block (steps 1–2 above) and its reverse pass.

    Parameters
    ----------
    A
        The cross-products (not modified).
    layout
        θ's layout over A's terms.
    """

    def __init__(self, A: CrossProducts, layout: ThetaLayout):
        self.A = A
        self.layout = layout
        self._eye1 = np.eye(layout.ks[0])

    def factor(self, theta: np.ndarray) -> BlockedCholesky | None:
        tape = self._forward(theta, None)
        return None if tape is None else tape.chol

    def value_and_gradient(
        self, theta: np.ndarray, criterion: Criterion, sigma: float | None = None
    ) -> Evaluated | None:
        tape = self._forward(theta, criterion, sigma)
        if tape is None:
            return None
        gradient, adjoint = deviance_gradient(self.A, self.layout, tape)
        return Evaluated(criterion.at(tape.chol, sigma), gradient, tape.chol.pwrss, adjoint)

    def _forward(
        self, theta: np.ndarray, criterion: Criterion | None, sigma: float | None = None
    ) -> Tape | None:
        """The factorization; with a `criterion`, also what the reverse pass of that
        criterion (at `sigma` if given) reads."""
        A, structure = self.A, self.A.structure
        templates = self.layout.templates(theta)
        T1 = templates[0]
        S = congruence(A.A11, T1) + self._eye1
        L11 = batched_cholesky(S)
        H1 = gram(batched_lower_solve(L11, T1.T))  # T₁ S_g⁻¹ T₁ᵀ per level
        M = A.R.copy()
        A.B.subtract_schur(M, H1)
        N = M if criterion is None else M.copy()
        for rows, k, T in zip(structure.rest_slices, structure.ks[1:], templates[1:]):
            mirror_diagonal_blocks(M, rows, k)
            scale_rows(M, rows, T)
            scale_rows(M.T, rows, T)
        q = structure.q_rest
        M.flat[: q * (A.r + 1) : A.r + 1] += 1.0  # the diagonal of the random part
        # Mᵀ is M's memory in the Fortran order LAPACK wants (no copy); its upper triangle is
        # M's lower, the one that is up to date.  The upper factor U of Mᵀ is Lᵀ.
        U, info = lapack.dpotrf(M.T, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return None
        chol = BlockedCholesky(theta, templates, L11, U.T, q, A.p, A.n)
        return Tape(chol, H1, N, criterion, sigma)
