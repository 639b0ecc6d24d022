"""Stage 7, finalize: β̂, σ̂, conditional modes and covariances from the factor at θ̂.

With the factor L of the penalized system (see `objective`), the last row of L holds the
right-hand side of the triangular system Lᵀ [u; β] = c (Bates et al. 2015, eq. 17–18):

* [u_rest; β] from the dense factor of the Schur complement (back-substitution);
* u₁ = S⁻¹ T₁ᵀ Z₁ᵀ (y − Xβ − Z_rest b_rest), level by level;
* b = Λ u; vcov(β) = σ² (L_X L_Xᵀ)⁻¹.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.blockdiag import batched_lower_solve
from mixedfx.pls.cholesky import BlockedCholesky, scale_rows


@dataclass(frozen=True)
class Solution:
    """The estimates at θ̂.

    Attributes
    ----------
    beta
        Shape (p,): fixed effects.
    b
        One array per term (model order), shape (ℓ_j, k_j): conditional modes.
    u
        The same in spherical form, b_g = T_j u_g per level: ‖u‖² is the penalty of the
        penalized least squares problem.
    """

    beta: np.ndarray
    b: list[np.ndarray]
    u: list[np.ndarray]


def solve(chol: BlockedCholesky, A: CrossProducts) -> Solution:
    """Back-substitute for β̂ and the conditional modes at the factor's θ."""
    q, p = chol.q_rest, chol.p
    L = np.tril(chol.Lrest)
    v = solve_triangular(L[:-1, :-1], L[-1, :-1], lower=True, trans="T")
    beta = v[q : q + p]
    u_rest = [
        v[rows].reshape(-1, T.shape[0])
        for rows, T in zip(A.structure.rest_slices, chol.templates[1:])
    ]
    b_rest = [u @ T.T for u, T in zip(u_rest, chol.templates[1:])]
    # Bᵀ [−b_rest; −β; 1] = Z₁ᵀ (y − Xβ − Z_rest b_rest)
    residual_weights = np.concatenate([*(-x.ravel() for x in b_rest), -beta, [1.0]])
    rhs = A.B.rmatvec(residual_weights).reshape(A.structure.nlevels[0], -1, 1)
    T1 = chol.templates[0]
    u1 = _solve_first(chol.L11, np.swapaxes(T1, 0, 1)[None] @ rhs)
    b1 = (T1[None] @ u1)[:, :, 0]
    return Solution(beta, [b1, *b_rest], [u1[:, :, 0], *u_rest])


def _solve_first(L11: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """S_g⁻¹ rhs_g = L_g⁻ᵀ L_g⁻¹ rhs_g for every level; rhs of shape (ℓ, k, 1)."""
    half = batched_lower_solve(L11, rhs)
    Lt = np.swapaxes(L11, 1, 2)[:, ::-1, ::-1]  # reversing turns the upper factor into a lower one
    return batched_lower_solve(Lt, half[:, ::-1, :])[:, ::-1, :]


def conditional_covariances(chol: BlockedCholesky, A: CrossProducts) -> list[np.ndarray]:
    """Diagonal blocks of Λ (ΛᵀZᵀZΛ + I)⁻¹ Λᵀ per term, shape (ℓ_j, k_j, k_j).

    Times σ² these are the conditional covariances of the random effects given β̂, what lme4's
    ``ranef(condVar = TRUE)`` reports.  With Ω = ΛᵀZᵀZΛ + I partitioned by the first term,

        (Ω⁻¹)_gg = S_g⁻¹ + K_gᵀ K_g,  K = L_zz⁻¹ Λ_rᵀ B_z blockdiag(T₁ S_g⁻¹),
        (Ω⁻¹)_rest = (L_zz L_zzᵀ)⁻¹,

    where L_zz is the random-effects part of the dense factor.  Costs O(q_rest² ℓ₁k₁): call
    only when asked.
    """
    q = chol.q_rest
    T1 = chol.templates[0]
    ell1, k1 = chol.L11.shape[:2]
    Sinv = _solve_first(chol.L11, np.broadcast_to(np.eye(k1), (ell1, k1, k1)).copy())
    first = Sinv
    rest: list[np.ndarray] = []
    if q:
        rest_terms = list(zip(A.structure.rest_slices, chol.templates[1:]))
        Lzz = np.tril(chol.Lrest[:q, :q])
        K = A.B.right_blocks(slice(0, q), T1[None] @ Sinv)
        for rows, T in rest_terms:
            scale_rows(K, rows, T)
        K = solve_triangular(Lzz, K, lower=True).reshape(q, ell1, k1)
        first = Sinv + np.einsum("qga,qgb->gab", K, K)
        Linv = solve_triangular(Lzz, np.eye(q), lower=True)
        for rows, T in rest_terms:
            cols = Linv[:, rows].reshape(q, -1, T.shape[0])
            rest.append(np.einsum("qga,qgb->gab", cols, cols))
    blocks = [first, *rest]
    return [T[None] @ Om @ T.T[None] for T, Om in zip(chol.templates, blocks)]
