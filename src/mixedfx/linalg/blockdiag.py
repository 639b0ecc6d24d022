"""Batched operations on block-diagonal matrices stored as an (ℓ, k, k) array of blocks.

The first random-effects term's diagonal block ΛᵀZᵀZΛ + I is block diagonal with one k × k
block per level; factoring it level by level in one vectorized call is what keeps the cost
linear in the number of levels.
"""

from __future__ import annotations

import numpy as np


def batched_cholesky(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of symmetric positive-definite blocks.

    Parameters
    ----------
    S
        Shape (ℓ, k, k).

    Returns
    -------
    ndarray
        Shape (ℓ, k, k), lower triangular; for k = 1 simply the square roots.
    """
    if S.shape[1] == 1:
        return np.sqrt(S)
    return np.linalg.cholesky(S)


def batched_lower_solve(L: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve L_g X_g = rhs_g for each block (forward substitution, vectorized over levels).

    Parameters
    ----------
    L
        Shape (ℓ, k, k), lower triangular with a positive diagonal.
    rhs
        Shape (ℓ, k, m) or broadcastable to it.

    Returns
    -------
    ndarray
        Shape (ℓ, k, m).
    """
    k = L.shape[1]
    rhs = np.broadcast_to(rhs, (L.shape[0], k, rhs.shape[-1]))
    out = np.empty(rhs.shape)
    for i in range(k):  # k is the number of coefficients of one term: tiny
        acc = rhs[:, i, :] - np.einsum("gj,gjm->gm", L[:, i, :i], out[:, :i, :])
        out[:, i, :] = acc / L[:, i, i, None]
    return out
