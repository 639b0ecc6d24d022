"""Batched operations on block-diagonal matrices stored as an (ℓ, k, k) array of blocks.

The first random-effects term's diagonal block ΛᵀZᵀZΛ + I is block diagonal with one k × k
block per level; factoring it level by level in one vectorized pass is what keeps the cost
linear in the number of levels.  k is the number of coefficients of one term (1 to a few),
so each routine loops over k in Python and runs every step as one array operation over all
ℓ levels; numpy's generic stacked routines are several times slower for such tiny blocks.

Below `SMALL` levels numpy's stacked LAPACK routines win instead: their fixed cost per call
is lower than that of several Python-level steps.
"""

from __future__ import annotations

import numpy as np

SMALL = 256


def congruence(A: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Tᵀ A_g T for every block, as one matrix product.

    Parameters
    ----------
    A
        Shape (ℓ, k, k).
    T
        Shape (k, k).

    Returns
    -------
    ndarray
        Shape (ℓ, k, k).  Row-major vec(Tᵀ A T) = vec(A) · (T ⊗ T).
    """
    ell, k, _ = A.shape
    kron = np.multiply.outer(T, T).transpose(0, 2, 1, 3).reshape(k * k, k * k)
    return (A.reshape(ell, k * k) @ kron).reshape(ell, k, k)


def batched_cholesky(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a stack of symmetric positive-definite blocks.

    Parameters
    ----------
    S
        Shape (ℓ, k, k); only the lower triangles are read.

    Returns
    -------
    ndarray
        Shape (ℓ, k, k), lower triangular.
    """
    k = S.shape[1]
    if k == 1:
        return np.sqrt(S)
    if S.shape[0] < SMALL:
        return np.linalg.cholesky(S)
    L = np.zeros_like(S)
    for j in range(k):
        L[:, j, j] = np.sqrt(S[:, j, j] - np.sum(L[:, j, :j] ** 2, axis=1))
        for i in range(j + 1, k):
            dot = np.sum(L[:, i, :j] * L[:, j, :j], axis=1)
            L[:, i, j] = (S[:, i, j] - dot) / L[:, j, j]
    return L


def batched_lower_solve(L: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve L_g X_g = rhs_g for each block (forward substitution, vectorized over levels).

    Parameters
    ----------
    L
        Shape (ℓ, k, k), lower triangular with a positive diagonal.
    rhs
        Shape (ℓ, k, m), or (k, m) when every level has the same right-hand side.

    Returns
    -------
    ndarray
        Shape (ℓ, k, m).
    """
    ell, k, _ = L.shape
    out = np.empty((ell, k, rhs.shape[-1]))
    for i in range(k):
        acc = rhs[..., i, :] - np.einsum("gj,gjm->gm", L[:, i, :i], out[:, :i, :])
        out[:, i, :] = acc / L[:, i, i, None]
    return out


def gram(Y: np.ndarray) -> np.ndarray:
    """Y_gᵀ Y_g for every block: shape (ℓ, m, k) → (ℓ, k, k)."""
    k = Y.shape[2]
    if Y.shape[0] < SMALL:
        return np.einsum("gca,gcb->gab", Y, Y)
    out = np.empty((Y.shape[0], k, k))
    for a in range(k):
        for b in range(a, k):
            out[:, a, b] = np.sum(Y[:, :, a] * Y[:, :, b], axis=1)
            out[:, b, a] = out[:, a, b]
    return out
