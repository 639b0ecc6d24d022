"""The off-diagonal block B = [Z₂ … Z_m X y]ᵀ Z₁ in dense or sparse storage.

Both storage types answer the same three questions the factorization asks, so the
objective never branches on storage: dispatch is by type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

# Dense storage when B has at least this fraction of non-zeros or is this small.
DENSE_FRACTION = 0.2
DENSE_SIZE = 200_000


class OffDiagonal(Protocol):
    """What the factorization needs of B (shape r × ℓ₁k₁)."""

    def schur(self, W: np.ndarray) -> np.ndarray:
        """B · blockdiag(W) · Bᵀ for W of shape (ℓ₁, k₁, k₁); returns a dense (r, r) array."""
        ...

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        """Bᵀ v for v of shape (r,); returns shape (ℓ₁k₁,)."""
        ...

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        """B[rows] · blockdiag(blocks) as a dense array, blocks of shape (ℓ₁, k₁, k₁)."""
        ...


@dataclass(frozen=True)
class DenseBlock:
    """B as a dense (r, ℓ₁k₁) array: few rows (only X and y) or many non-zeros."""

    B: np.ndarray

    def schur(self, W: np.ndarray) -> np.ndarray:
        BW = self.right_blocks(slice(None), W)
        return BW @ self.B.T

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self.B.T @ v

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        ell, k, _ = blocks.shape
        Br = self.B[rows].reshape(-1, ell, k)
        return np.einsum("rga,gab->rgb", Br, blocks).reshape(Br.shape[0], ell * k)


@dataclass(frozen=True)
class SparseBlock:
    """B as a CSR matrix: crossed designs, where most pairs of levels never meet."""

    B: sp.csr_matrix

    def schur(self, W: np.ndarray) -> np.ndarray:
        product = self.B @ _block_diagonal(W) @ self.B.T
        return np.asarray(product.toarray())

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(self.B.T @ v)

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        return np.asarray((self.B[rows] @ _block_diagonal(blocks)).toarray())


def _block_diagonal(blocks: np.ndarray) -> sp.csr_matrix:
    ell, k, _ = blocks.shape
    if k == 1:
        return sp.diags(blocks.ravel(), format="csr")
    bsr = sp.bsr_matrix((blocks, np.arange(ell), np.arange(ell + 1)), shape=(ell * k, ell * k))
    return bsr.tocsr()


def off_diagonal(B: sp.spmatrix | np.ndarray) -> DenseBlock | SparseBlock:
    """Choose the storage for B by its size and fill."""
    if isinstance(B, np.ndarray):
        return DenseBlock(B)
    B = sp.csr_matrix(B)
    size = B.shape[0] * B.shape[1]
    if size <= DENSE_SIZE or B.nnz >= DENSE_FRACTION * size:
        return DenseBlock(B.toarray())
    return SparseBlock(B)
