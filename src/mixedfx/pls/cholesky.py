"""The blocked Cholesky factor of the penalized system at one θ, and the block scaling by Λ.

See `mixedfx.pls.deviance` for how it is computed; `criterion`, `solution` and `gradient`
read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockedCholesky:
    """The blocked Cholesky factor L of the penalized system at one θ.

    Attributes
    ----------
    theta
        The θ it was computed at.
    templates
        The templates T_j (k_j × k_j), model term order.
    L11
        Shape (ℓ₁, k₁, k₁): factors of the first term's diagonal blocks.
    Lrest
        Shape (r, r): lower factor of the Schur complement M (its strict upper triangle is
        not meaningful).
    q_rest, p, n
        Block sizes and rows.
    """

    theta: np.ndarray
    templates: list[np.ndarray]
    L11: np.ndarray
    Lrest: np.ndarray
    q_rest: int
    p: int
    n: int

    @property
    def logdet_first(self) -> float:
        """log-determinant of the first term's diagonal blocks, Σ_g log|L_g|²."""
        return 2.0 * float(np.log(np.diagonal(self.L11, axis1=1, axis2=2)).sum())

    @property
    def logdet_Z(self) -> float:
        """log |L_Z|²: log-determinant of ΛᵀZᵀZΛ + I."""
        return self.logdet_first + 2.0 * float(np.log(np.diag(self.Lrest)[: self.q_rest]).sum())

    @property
    def logdet_X(self) -> float:
        """log |L_X|²: what REML adds."""
        dx = np.diag(self.Lrest)[self.q_rest : self.q_rest + self.p]
        return 2.0 * float(np.log(dx).sum())

    @property
    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares r² = ‖y − Xβ − ZΛu‖² + ‖u‖²."""
        return float(self.Lrest[-1, -1] ** 2)


def beta_covariance(chol: BlockedCholesky, sigma: float) -> np.ndarray:
    """vcov(β̂) = σ² (L_X L_Xᵀ)⁻¹ at the factor's θ, shape (p, p), symmetric: L_X is the
    fixed-effects block of the factor, so L_X L_Xᵀ = XᵀV⁻¹X σ² (Bates et al. 2015, eq. 54)."""
    q, p = chol.q_rest, chol.p
    inverse = np.linalg.inv(np.tril(chol.Lrest[q : q + p, q : q + p]))
    return sigma**2 * (inverse.T @ inverse)


def scale_rows(M: np.ndarray, rows: slice, T: np.ndarray) -> None:
    """In place: M[rows] ← blockdiag(Tᵀ) · M[rows], one k × k block per level."""
    k = T.shape[0]
    block = M[rows]
    if k == 1:
        block *= T[0, 0]
        return
    stacked = block.reshape(-1, k, block.shape[1])
    block[...] = np.einsum("ba,gbc->gac", T, stacked).reshape(block.shape)


def mirror_diagonal_blocks(M: np.ndarray, rows: slice, k: int) -> None:
    """In place: the upper triangle of each k × k diagonal block of M[rows, rows] ← its lower.

    `scale_rows` mixes the rows of a block, so it reads the block's upper triangle, which a
    Schur update that keeps only the lower triangle (`OffDiagonal.subtract_schur`) leaves stale.
    """
    start = rows.start or 0
    ell = (rows.stop - start) // k
    base = start + k * np.arange(ell)
    for a in range(k):
        for b in range(a):
            M[base + b, base + a] = M[base + a, base + b]
