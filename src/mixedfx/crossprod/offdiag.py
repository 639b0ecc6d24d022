"""The off-diagonal block B = [Z₂ … Z_m X y]ᵀ Z₁ in dense or sparse storage.

Both storage types answer the same three questions the factorization asks, so the
objective never branches on storage: dispatch is by type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from mixedfx.pls.blockdiag import SMALL

# Dense storage when B has at least this fraction of non-zeros or is this small.
DENSE_FRACTION = 0.2
DENSE_SIZE = 200_000
# Most products B[i, ga] B[j, gb] worth precomputing (8 bytes each, plus indices).
PATTERN_BUDGET = 30_000_000


class OffDiagonal(Protocol):
    """What the factorization needs of B (shape r × ℓ₁k₁)."""

    def subtract_schur(self, M: np.ndarray, H: np.ndarray) -> None:
        """In place: M ← M − B · blockdiag(H) · Bᵀ, for H of shape (ℓ₁, k₁, k₁).

        Only M's lower triangle is guaranteed to be updated: the dense factorization that
        follows reads nothing else.
        """
        ...

    def quadratic_blocks(self, N: np.ndarray, k: int) -> np.ndarray:
        """The diagonal k × k blocks of Bᵀ N B for a symmetric N (r × r); shape (ℓ₁, k, k).

        This is the adjoint of `subtract_schur`: the derivative of ⟨N, M⟩ (the sum of
        elementwise products) with respect to H is −quadratic_blocks(N).  The gradient of
        the objective needs it; it costs about what `subtract_schur` costs.
        """
        ...

    def schur_inner(self, N: np.ndarray, H: np.ndarray, other: OffDiagonal) -> float:
        """⟨N, B'·blockdiag(H)·Bᵀ⟩ (the sum of elementwise products), B' = `other`, a block
        of the same shape, H of shape (ℓ₁, k₁, k₁): the derivative of ⟨N, B H Bᵀ⟩ along B,
        halved, which the derivative of the criterion with respect to B needs."""
        ...

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        """Bᵀ v for v of shape (r,); returns shape (ℓ₁k₁,)."""
        ...

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        """B[rows] · blockdiag(blocks) as a dense array, blocks of shape (ℓ₁, k₁, k₁)."""
        ...

    @property
    def matrix(self) -> np.ndarray | sp.csr_matrix:
        """B itself, for operations done once per fit."""
        ...

    def with_last_row(self, row: np.ndarray) -> OffDiagonal:
        """The same block with its last row (the response's, Z₁ᵀy) replaced: a new y reuses
        everything else (parametric bootstrap)."""
        ...


@dataclass(frozen=True)
class DenseBlock:
    """B as a dense (r, ℓ₁k₁) array: few rows (only X and y) or many non-zeros."""

    B: np.ndarray

    @property
    def matrix(self) -> np.ndarray:
        return self.B

    def with_last_row(self, row: np.ndarray) -> DenseBlock:
        B = self.B.copy()
        B[-1] = row
        return DenseBlock(B)

    def subtract_schur(self, M: np.ndarray, H: np.ndarray) -> None:
        BH = self.right_blocks(slice(None), H)
        M -= BH @ self.B.T

    def quadratic_blocks(self, N: np.ndarray, k: int) -> np.ndarray:
        r = self.B.shape[0]
        return _pair_sums(self.B.reshape(r, -1, k), (N @ self.B).reshape(r, -1, k))

    def schur_inner(self, N: np.ndarray, H: np.ndarray, other: OffDiagonal) -> float:
        return float(np.vdot(N, other.right_blocks(slice(None), H) @ self.B.T))

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self.B.T @ v

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        ell, k, _ = blocks.shape
        Br = self.B[rows].reshape(-1, ell, k)
        if ell < SMALL:  # numpy's stacked matmul has the lower fixed cost
            return (Br[:, :, None, :] @ blocks[None]).reshape(Br.shape[0], ell * k)
        out = np.zeros_like(Br)
        for a in range(k):  # k is tiny: k² array operations beat a generic einsum
            for b in range(k):
                out[:, :, b] += Br[:, :, a] * blocks[None, :, a, b]
        return out.reshape(Br.shape[0], ell * k)


@dataclass(frozen=True)
class SparseBlock:
    """B as a CSR matrix: crossed designs, where most pairs of levels never meet."""

    B: sp.csr_matrix

    @property
    def matrix(self) -> sp.csr_matrix:
        return self.B

    def with_last_row(self, row: np.ndarray) -> SparseBlock:
        return SparseBlock(sp.vstack([self.B[:-1], sp.csr_matrix(row)], format="csr"))

    def subtract_schur(self, M: np.ndarray, H: np.ndarray) -> None:
        M -= (self.B @ _block_diagonal(H) @ self.B.T).toarray()

    def quadratic_blocks(self, N: np.ndarray, k: int) -> np.ndarray:
        Bt = self.B.T.tocoo()
        NB = np.asarray(Bt @ N)  # (N B)ᵀ, as N is symmetric: row ga holds column ga of N B
        level = Bt.row // k
        out = np.empty((self.B.shape[1] // k, k, k))
        for b in range(k):
            terms = Bt.data * NB[level * k + b, Bt.col]
            out[:, :, b] = np.bincount(Bt.row, terms, minlength=out.shape[0] * k).reshape(-1, k)
        return out

    def schur_inner(self, N: np.ndarray, H: np.ndarray, other: OffDiagonal) -> float:
        product = (sp.csr_matrix(other.matrix) @ _block_diagonal(H) @ self.B.T).tocoo()
        return float(product.data @ N[product.row, product.col])

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(self.B.T @ v)

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        return np.asarray((self.B[rows] @ _block_diagonal(blocks)).toarray())


@dataclass(frozen=True)
class PatternBlock:
    """Sparse B with the products of its entries precomputed for the Schur complement.

    G = B · blockdiag(H) · Bᵀ is linear in H, so its lower triangle is ``P @ vec(H)`` with
    P[(i, j), (g, a, b)] = B[i, ga] B[j, gb]: one sparse mat-vec per evaluation instead of
    a sparse-sparse product with its symbolic phase.  Used when P fits `PATTERN_BUDGET`.
    P covers every row but the last (the response's); that row of G is one more mat-vec,
    B · blockdiag(H) · B[-1], so a new response keeps P.

    Attributes
    ----------
    sparse
        B itself, for the operations evaluated once per fit.
    P
        Shape (number of lower-triangle positions of G that can be non-zero, ℓk²).
    rows, cols
        Those positions in G.
    """

    sparse: SparseBlock
    P: sp.csr_matrix
    rows: np.ndarray
    cols: np.ndarray

    @property
    def matrix(self) -> sp.csr_matrix:
        return self.sparse.B

    def with_last_row(self, row: np.ndarray) -> PatternBlock:
        return replace(self, sparse=self.sparse.with_last_row(row))

    def subtract_schur(self, M: np.ndarray, H: np.ndarray) -> None:
        M[self.rows, self.cols] -= self.P @ H.ravel()
        ell, k, _ = H.shape
        last = np.asarray(self.sparse.B[-1].toarray()).reshape(ell, 1, k)
        M[-1] -= self.sparse.B @ (last @ H).ravel()

    def quadratic_blocks(self, N: np.ndarray, k: int) -> np.ndarray:
        # P holds each pair (i, j), i ≥ j, once: its mirror (j, i) is the transposed block,
        # and a diagonal pair must not be counted twice.
        weights = np.where(self.rows == self.cols, 0.5, 1.0) * N[self.rows, self.cols]
        half = (self.P.T @ weights).reshape(-1, k, k)
        # the pairs with the last row, which P leaves out (see subtract_schur)
        B = self.sparse.B
        last = np.asarray(B[-1].toarray()).reshape(-1, k)
        w = N[-1].copy()
        w[-1] *= 0.5
        c = np.asarray(B.T @ w).reshape(-1, k)
        half += last[:, :, None] * c[:, None, :]
        return half + np.swapaxes(half, 1, 2)

    def schur_inner(self, N: np.ndarray, H: np.ndarray, other: OffDiagonal) -> float:
        return self.sparse.schur_inner(N, H, other)

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self.sparse.rmatvec(v)

    def right_blocks(self, rows: slice, blocks: np.ndarray) -> np.ndarray:
        return self.sparse.right_blocks(rows, blocks)


def _pair_sums(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Σ_i U[i, g, a] V[i, g, b] for every level g: shapes (r, ℓ, k) → (ℓ, k, k)."""
    k = U.shape[2]
    if U.shape[1] < SMALL:
        return np.einsum("iga,igb->gab", U, V)
    out = np.empty((U.shape[1], k, k))
    for a in range(k):
        for b in range(k):
            out[:, a, b] = np.sum(U[:, :, a] * V[:, :, b], axis=0)
    return out


def _pattern(B: sp.csr_matrix, k: int) -> PatternBlock:
    """Precompute P for `PatternBlock` from B whose columns come in level blocks of width k.

    Each level's entries pair up as (e1, e2) with row(e2) ≤ row(e1), the lower triangle of G;
    P's rows are the distinct positions (row(e1), row(e2)) in increasing order.  Every step
    is a counting sort, a table look-up or a sequential pass: linear in the number of products.
    """
    r, n_levels = B.shape[0], B.shape[1] // k
    starts, row, a, val = _level_entries(B, k)
    count, e2 = _lower_pairs(starts, row)
    position, slot = _dense_ranks(np.repeat(row.astype(np.int64) * r, count) + row[e2], r * r)
    level = np.repeat(np.arange(n_levels), np.diff(starts))
    column = np.repeat((level * k + a) * k, count) + a[e2]
    products = np.repeat(val, count) * val[e2]
    P = sp.csr_matrix((products, (slot, column)), shape=(position.size, n_levels * k * k))
    return PatternBlock(SparseBlock(B), P, *np.divmod(position, r))


def _level_entries(
    B: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """B's non-zeros ordered by (level, row, coefficient): the start of each level's entries
    (shape (ℓ + 1,)), and each entry's row, coefficient a and value.

    B transposed to levels × (row, a) is that order: its compressed columns are a counting
    sort of B's entries by level.
    """
    C = B.tocoo()
    level, a = np.divmod(C.col, k)
    by_level = sp.csc_matrix(
        (C.data, (C.row.astype(np.int64) * k + a, level)),
        shape=(B.shape[0] * k, B.shape[1] // k),
    )
    row, a = np.divmod(by_level.indices, k)
    return by_level.indptr, row, a, by_level.data


def _lower_pairs(starts: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of entries (e1, e2) of the same level with row(e2) ≤ row(e1): how many
    pairs each entry e1 starts (shape (entries,)), and e2 of each pair (shape (Σ count,)),
    the pairs in order of e1, so that ``np.repeat(x, count)`` is x[e1].

    Entries are ordered by (level, row), so e2 runs from the level's first entry to the last
    one in e1's row.
    """
    E = row.size
    level_start = np.repeat(starts[:-1], np.diff(starts))
    new_row = np.ones(E, dtype=bool)
    new_row[1:] = row[1:] != row[:-1]
    new_row[starts[:-1][np.diff(starts) > 0]] = True  # a level's first entry starts a row
    row_starts = np.flatnonzero(new_row)
    row_end = np.append(row_starts[1:], E)[np.cumsum(new_row) - 1]
    count = row_end - level_start
    e2 = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - level_start, count)
    return count, e2


def _dense_ranks(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of `keys` (integers in [0, size)) in increasing order, and each
    key's index among them: ``np.unique(keys, return_inverse=True)`` by a table of `size`
    entries instead of a sort."""
    seen = np.zeros(size, dtype=bool)
    seen[keys] = True
    distinct = np.flatnonzero(seen)
    rank = np.empty(size, dtype=np.int64 if distinct.size > np.iinfo(np.int32).max else np.int32)
    rank[distinct] = np.arange(distinct.size)
    return distinct, rank[keys]


def pattern_block(B: sp.csr_matrix, k: int) -> PatternBlock:
    """`PatternBlock` of B: the products for every row but the last (see its notes)."""
    inner = _pattern(B[:-1], k)
    return replace(inner, sparse=SparseBlock(B))


def _block_diagonal(blocks: np.ndarray) -> sp.csr_matrix:
    ell, k, _ = blocks.shape
    if k == 1:
        return sp.diags(blocks.ravel(), format="csr")
    bsr = sp.bsr_matrix((blocks, np.arange(ell), np.arange(ell + 1)), shape=(ell * k, ell * k))
    return bsr.tocsr()


def off_diagonal(B: sp.spmatrix | np.ndarray, k: int) -> DenseBlock | SparseBlock | PatternBlock:
    """Choose the storage for B (columns in level blocks of width k) by its size and fill."""
    size = B.shape[0] * B.shape[1]
    if size <= DENSE_SIZE and isinstance(B, np.ndarray):
        return DenseBlock(B)
    B = sp.csr_matrix(B)
    if size <= DENSE_SIZE or B.nnz >= DENSE_FRACTION * size:
        return DenseBlock(B.toarray())
    per_level = np.bincount(B.tocoo().col // k, minlength=B.shape[1] // k)
    if float(np.sum(per_level.astype(float) ** 2)) <= PATTERN_BUDGET:
        return pattern_block(B, k)
    return SparseBlock(B)
