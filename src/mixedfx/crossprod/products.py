"""Stage 4, cross-products: the blocks of A = [Z X y]ᵀ[Z X y], the only stage that reads all rows.

Here y is the response less the offset (`Design.y_minus_offset`), the part Xβ + Zb models.
With prior weights w every row of [Z X y] is scaled by √wᵢ first, so that A = [Z X y]ᵀW[Z X y]
and the residuals of the scaled rows have the common variance σ²: every stage after this one
is the unweighted one on the scaled rows.  Only the likelihood gains a term, −Σ log wᵢ
(`CrossProducts.log_weights`), the log-Jacobian from the scaled rows back to y (lme4's
``ldW``).  A residual variance per stratum of rows is the same mechanism: with weights
1/δ_s² on stratum s, A(δ) = Σ_s A_s / δ_s² and log_weights = −Σ_s n_s log δ_s².

The columns are split as [Z₁ | W] with W = [Z₂ … Z_m X y] (r columns):

* ``A11`` = Z₁ᵀZ₁, block diagonal: one k₁ × k₁ block per level of the first (largest) term;
* ``B``   = WᵀZ₁ (r × ℓ₁k₁), sparse for crossed designs;
* ``R``   = WᵀW (r × r), dense: after the first block is eliminated it fills in anyway.

Each is a sum over rows, computed here as a sum over row chunks so that the same code can
later stream a file or run per partition on a cluster.  A small model (at most `DENSE_UP_TO`
columns in all) takes its products from the dense columns [Z X y]: one BLAS call, where the
sparse products have a fixed cost per call that outweighs the work on few columns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from mixedfx.crossprod.offdiag import OffDiagonal, off_diagonal
from mixedfx.crossprod.structure import TermStructure
from mixedfx.data.design import Design
from mixedfx.data.random import RandomTerm

CHUNK_ROWS = 262_144
# Models with at most this many columns in [Z X y] are computed densely (here and in
# `mixedfx.pls.dense`), where the fixed costs of sparse and blockwise operations dominate.
DENSE_UP_TO = 64


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
    n
        Rows summed.
    structure
        Which rows and columns belong to which term (`TermStructure`).
    sums
        Shape (p,): the column sums of X, 1ᵀX (the mean of a linear predictor without the
        rows), unweighted.
    log_weights
        Σ log wᵢ over the rows (0 for unit weights): the criteria subtract it.
    """

    A11: np.ndarray
    B: OffDiagonal
    R: np.ndarray
    n: int
    structure: TermStructure
    sums: np.ndarray
    log_weights: float = 0.0

    @property
    def p(self) -> int:
        return self.structure.p

    @property
    def q_rest(self) -> int:
        return self.structure.q_rest

    @property
    def r(self) -> int:
        return self.R.shape[0]

    @property
    def q1(self) -> int:
        """Random effects of the first term, ℓ₁k₁."""
        return self.structure.q1

    @property
    def size(self) -> int:
        """Columns of [Z X y], ℓ₁k₁ + r: the order of A."""
        return self.structure.size

    @property
    def XtX(self) -> np.ndarray:
        """XᵀX, shape (p, p)."""
        fixed = self.structure.fixed
        return self.R[fixed, fixed]

    @cached_property
    def dense(self) -> np.ndarray:
        """A as one dense symmetric array, [[blockdiag(A11), Bᵀ], [B, R]], shape (s, s), s =
        `size`: the small models' evaluation (`mixedfx.pls.dense`) works on it."""
        q1 = self.q1
        B = self.B.matrix
        if not isinstance(B, np.ndarray):
            B = B.toarray()
        full = np.zeros((self.size, self.size))
        full.flat[block_positions(self.structure.nlevels[0], self.structure.ks[0], self.size)] = (
            self.A11.ravel()
        )
        full[q1:, :q1] = B
        full[:q1, q1:] = B.T
        full[q1:, q1:] = self.R
        return full

    def knowing_dense(self, full: np.ndarray) -> CrossProducts:
        """These cross-products with `dense` given instead of assembled: it is linear in the
        blocks, so a combination of cross-products has the combination of theirs."""
        self.__dict__["dense"] = full  # where cached_property keeps its value
        return self

    def term_gram(self, j: int) -> np.ndarray:
        """Σ over rows of z zᵀ for term j's k_j coefficients (its ZᵀZ summed over the
        levels), shape (k_j, k_j)."""
        if j == 0:
            return self.A11.sum(axis=0)
        k, ell = self.structure.ks[j], self.structure.nlevels[j]
        rows = self.structure.rest_slices[j - 1]
        return np.einsum("gagb->ab", self.R[rows, rows].reshape(ell, k, ell, k))

    def __add__(self, other: CrossProducts) -> CrossProducts:
        """A of the union of two sets of rows (chunks, partitions) with the same encodings."""
        if other.structure != self.structure:
            raise ValueError("cross-products of different model structures cannot be added")
        B = self.B.matrix + other.B.matrix
        return CrossProducts(
            self.A11 + other.A11,
            off_diagonal(B, self.structure.ks[0]),
            self.R + other.R,
            self.n + other.n,
            self.structure,
            self.sums + other.sums,
            self.log_weights + other.log_weights,
        )


@functools.cache
def block_positions(ell: int, k: int, s: int) -> np.ndarray:
    """Flat positions in an (s, s) array of the k × k diagonal blocks of its first ℓk rows,
    shape (ℓ k k,), in (level, row, column) order."""
    base = k * np.arange(ell)
    rows = base[:, None, None] + np.arange(k)[None, :, None]
    cols = base[:, None, None] + np.arange(k)[None, None, :]
    out = (rows * s + cols).ravel()
    out.setflags(write=False)
    return out


Products = Callable[[Design, slice], tuple[sp.csr_matrix | np.ndarray, sp.csr_matrix | np.ndarray]]


def cross_products(
    design: Design, chunk_rows: int = CHUNK_ROWS, dense: bool | None = None
) -> CrossProducts:
    """Accumulate A's blocks over row chunks of `design`.

    Parameters
    ----------
    design
        The model's columns, n rows, with their prior weights (each row scaled by √wᵢ).
    chunk_rows
        Rows per chunk: bounds the memory of the per-chunk products.
    dense
        Products from dense columns (True) or sparse ones (False); by default dense when
        [Z X y] has at most `DENSE_UP_TO` columns.
    """
    first, rest = design.terms[0], design.terms[1:]
    q_rest = sum(t.q for t in rest)
    r = q_rest + design.p + 1
    A11 = np.zeros((first.nlevels, first.k, first.k))
    if dense is None:
        dense = first.q + r <= DENSE_UP_TO
    products: Products = _dense_products if dense else _sparse_products
    B: sp.csr_matrix | np.ndarray | None = None
    R: sp.csr_matrix | np.ndarray | None = None
    sums = np.zeros(design.p)
    for start in range(0, design.n, chunk_rows):
        rows = slice(start, min(start + chunk_rows, design.n))
        A11 += _diagonal_blocks(first, rows, design)
        B_rows, R_rows = products(design, rows)
        B = B_rows if B is None else B + B_rows
        R = R_rows if R is None else R + R_rows
        sums += design.fixed.X[rows].sum(axis=0)
    assert B is not None and R is not None  # a design has rows
    structure = TermStructure(
        tuple(t.k for t in design.terms), tuple(t.nlevels for t in design.terms), design.p
    )
    R = R if isinstance(R, np.ndarray) else R.toarray()  # summed sparse: mostly diagonal
    B = off_diagonal(B, first.k)
    return CrossProducts(A11, B, R, design.n, structure, sums, design.log_weights)


def _scaled(values: np.ndarray, design: Design, rows: slice) -> np.ndarray:
    """Rows of `values` (shape (n,) or (n, c)) times √w: the rows the products are of."""
    if design.sqrt_weights is None:
        return values[rows]
    root = design.sqrt_weights[rows]
    return values[rows] * (root if values.ndim == 1 else root[:, None])


def term_matrix(
    term: RandomTerm, rows: slice = slice(None), design: Design | None = None
) -> sp.csr_matrix:
    """Z_j for the given rows as a CSR matrix (rows × ℓk): k non-zeros per row; its rows
    scaled by √w with the `design`'s weights."""
    z = term.z[rows] if design is None else _scaled(term.z, design, rows)
    refs = term.factor.refs[rows]
    m, k = z.shape
    cols = (refs[:, None] * k + np.arange(k)[None, :]).ravel()
    indptr = np.arange(0, m * k + 1, k)
    return sp.csr_matrix((z.ravel(), cols, indptr), shape=(m, term.q))


def _diagonal_blocks(term: RandomTerm, rows: slice, design: Design) -> np.ndarray:
    """Σ over rows of level g of w z zᵀ, for every level: shape (ℓ, k, k)."""
    z = term.z[rows]
    refs = term.factor.refs[rows]
    w = None if design.weights is None else design.weights[rows]
    k = term.k
    out = np.empty((term.nlevels, k, k))
    for a in range(k):
        for b in range(a, k):
            zz = z[:, a] * z[:, b] if w is None else w * z[:, a] * z[:, b]
            out[:, a, b] = np.bincount(refs, weights=zz, minlength=term.nlevels)
            out[:, b, a] = out[:, a, b]
    return out


def _sparse_products(design: Design, rows: slice) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """WᵀZ₁ and WᵀW (both sparse) of the given rows, W = [Z₂ … Z_m X y], rows scaled by √w."""
    dense = np.column_stack([_scaled(design.fixed.X, design, rows), design.weighted_response[rows]])
    W = sp.hstack(
        [*(term_matrix(t, rows, design) for t in design.terms[1:]), sp.csr_matrix(dense)],
        format="csr",
    )
    return (W.T @ term_matrix(design.terms[0], rows, design)).tocsr(), (W.T @ W).tocsr()


def _dense_products(design: Design, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """WᵀZ₁ and WᵀW of the given rows from the dense columns C = [Z₁ W], rows scaled by √w."""
    n = rows.stop - rows.start
    q1 = design.terms[0].q
    C = np.zeros((n, q1 + sum(t.q for t in design.terms[1:]) + design.p + 1))
    start = 0
    for t in design.terms:
        cols = start + t.factor.refs[rows, None] * t.k + np.arange(t.k)
        C[np.arange(n)[:, None], cols] = t.z[rows]
        start += t.q
    C[:, start:-1] = design.fixed.X[rows]
    C[:, -1] = design.y_minus_offset[rows]
    if design.sqrt_weights is not None:
        C *= design.sqrt_weights[rows, None]
    WtC = C[:, q1:].T @ C
    return WtC[:, :q1], WtC[:, q1:]
