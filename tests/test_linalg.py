"""The three storages of the off-diagonal block give the same Schur complement."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mixedfx.crossprod.offdiag import DenseBlock, SparseBlock, pattern_block
from mixedfx.pls.blockdiag import batched_cholesky, batched_lower_solve, congruence, gram


def random_blocks(rng: np.random.Generator, ell: int, k: int) -> np.ndarray:
    a = rng.normal(size=(ell, k, k))
    return a @ np.swapaxes(a, 1, 2) + np.eye(k)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_storages_agree_on_the_lower_triangle(k: int, rng) -> None:
    ell, r = 40, 12
    B = sp.random(r, ell * k, density=0.15, random_state=3, format="csr")
    W = random_blocks(rng, ell, k)
    dense_W = np.zeros((ell * k, ell * k))
    for g in range(ell):
        dense_W[g * k : (g + 1) * k, g * k : (g + 1) * k] = W[g]
    expected = -(B.toarray() @ dense_W @ B.toarray().T)
    lower = np.tril_indices(r)
    for block in (DenseBlock(B.toarray()), SparseBlock(B), pattern_block(B, k)):
        M = np.zeros((r, r))
        block.subtract_schur(M, W)
        np.testing.assert_allclose(M[lower], expected[lower], rtol=1e-12, atol=1e-12)
        new_row = rng.normal(size=ell * k)
        replaced = block.with_last_row(new_row)
        Bnew = B.toarray().copy()
        Bnew[-1] = new_row
        M = np.zeros((r, r))
        replaced.subtract_schur(M, W)
        want = -(Bnew @ dense_W @ Bnew.T)
        np.testing.assert_allclose(M[lower], want[lower], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(replaced.rmatvec(np.ones(r)), Bnew.T @ np.ones(r), rtol=1e-12)


@pytest.mark.parametrize("ell", [5, 300])  # both sides of the small-stack switch
def test_batched_kernels_against_numpy(ell: int, rng) -> None:
    S = random_blocks(rng, ell, 3)
    T = np.tril(rng.normal(size=(3, 3)))
    np.testing.assert_allclose(congruence(S, T), T.T @ S @ T, rtol=1e-12)
    L = batched_cholesky(S)
    np.testing.assert_allclose(L, np.linalg.cholesky(S), rtol=1e-10)
    X = batched_lower_solve(L, T.T)
    np.testing.assert_allclose(L @ X, np.broadcast_to(T.T, S.shape), atol=1e-10)
    np.testing.assert_allclose(gram(X), np.swapaxes(X, 1, 2) @ X, rtol=1e-12)
