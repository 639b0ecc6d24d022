"""Stage 4, cross-products: the blocks of A = [Z X y]ᵀ[Z X y], the only stage that reads all rows.

The columns are split as [Z₁ | W] with W = [Z₂ … Z_m X y] (r columns):

* ``A11`` = Z₁ᵀZ₁, block diagonal: one k₁ × k₁ block per level of the first (largest) term;
* ``B``   = WᵀZ₁ (r × ℓ₁k₁), sparse for crossed designs;
* ``R``   = WᵀW (r × r), dense: after the first block is eliminated it fills in anyway.

Each is a sum over rows, computed here as a sum over row chunks so that the same code can
later stream a file or run per partition on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mixedfx.design import Design, RandomTerm
from mixedfx.linalg import OffDiagonal, off_diagonal

CHUNK_ROWS = 262_144


@dataclass(frozen=True)
class CrossProducts:
    """The blocks of A, sized by levels and columns, not by rows.

    Attributes
    ----------
    A11
        Shape (ℓ₁, k₁, k₁).
    B
        Shape (r, ℓ₁k₁), r = q_rest + p + 1, dense or sparse.
    R
        Shape (r, r), dense.
    n, p, q_rest
        Rows, fixed-effect columns, and random-effect columns of terms 2..m.
    """

    A11: np.ndarray
    B: OffDiagonal
    R: np.ndarray
    n: int
    p: int
    q_rest: int

    @property
    def r(self) -> int:
        return self.R.shape[0]


def cross_products(design: Design, chunk_rows: int = CHUNK_ROWS) -> CrossProducts:
    """Accumulate A's blocks over row chunks of `design`."""
    first, rest = design.terms[0], design.terms[1:]
    q_rest = sum(t.q for t in rest)
    r = q_rest + design.p + 1
    A11 = np.zeros((first.nlevels, first.k, first.k))
    B = sp.csr_matrix((r, first.q))
    R = np.zeros((r, r))
    for start in range(0, design.n, chunk_rows):
        rows = slice(start, min(start + chunk_rows, design.n))
        A11 += _diagonal_blocks(first, rows)
        W = _rest_columns(design, rest, rows)
        Z1 = term_matrix(first, rows)
        B = B + (W.T @ Z1).tocsr()
        R += np.asarray((W.T @ W).toarray())
    return CrossProducts(A11, off_diagonal(B, first.k), R, design.n, design.p, q_rest)


def term_matrix(term: RandomTerm, rows: slice = slice(None)) -> sp.csr_matrix:
    """Z_j for the given rows as a CSR matrix (rows × ℓk): k non-zeros per row."""
    z = term.z[rows]
    refs = term.factor.refs[rows]
    m, k = z.shape
    cols = (refs[:, None] * k + np.arange(k)[None, :]).ravel()
    indptr = np.arange(0, m * k + 1, k)
    return sp.csr_matrix((z.ravel(), cols, indptr), shape=(m, term.q))


def _diagonal_blocks(term: RandomTerm, rows: slice) -> np.ndarray:
    """Σ over rows of level g of z zᵀ, for every level: shape (ℓ, k, k)."""
    z = term.z[rows]
    refs = term.factor.refs[rows]
    k = term.k
    out = np.empty((term.nlevels, k, k))
    for a in range(k):
        for b in range(a, k):
            out[:, a, b] = np.bincount(refs, weights=z[:, a] * z[:, b], minlength=term.nlevels)
            out[:, b, a] = out[:, a, b]
    return out


def _rest_columns(design: Design, rest: tuple[RandomTerm, ...], rows: slice) -> sp.csr_matrix:
    """W = [Z₂ … Z_m X y] for the given rows, as one sparse matrix."""
    dense = np.column_stack([design.fixed.X[rows], design.y[rows]])
    return sp.hstack([*(term_matrix(t, rows) for t in rest), sp.csr_matrix(dense)], format="csr")
