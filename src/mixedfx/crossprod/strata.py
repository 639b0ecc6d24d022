"""Cross-products per stratum of rows, combined with a weight per stratum.

A residual variance that differs between strata of rows (the levels of a factor: nlme's
``varIdent``, glmmTMB's ``dispformula = ~ State``) gives row i the weight 1/δ²_s(i).  For
fixed weights the model is an ordinary weighted linear mixed model, and its cross-products are

    A(w) = Σ_s w_s A_s,

the per-stratum cross-products A_s (computed once, each with the prior weights) combined
with one number per stratum: an evaluation at new δ never reads a row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from mixedfx.crossprod.offdiag import DenseBlock, OffDiagonal, SparseBlock
from mixedfx.crossprod.products import CrossProducts, cross_products
from mixedfx.data.design import Design


@dataclass(frozen=True)
class Strata:
    """The cross-products A_s of each stratum of rows, all of the model's full structure.

    Attributes
    ----------
    parts
        A_s per stratum, stratum order.
    """

    parts: tuple[CrossProducts, ...]

    @property
    def counts(self) -> np.ndarray:
        """Shape (S,): rows per stratum, n_s."""
        return np.array([part.n for part in self.parts])

    def combined(self, w: np.ndarray) -> CrossProducts:
        """A(w) = Σ_s w_s A_s, with the weights' term Σ_s (Σ_{i∈s} log wᵢ + n_s log w_s).

        B is stored densely or sparse as the strata's is, never with precomputed products
        (`PatternBlock`): those are quadratic in w, so they would be computed anew at
        every w.
        """
        first = self.parts[0]
        return replace(
            first,
            A11=np.einsum("s,sgab->gab", w, np.stack([part.A11 for part in self.parts])),
            B=_combined_blocks([part.B for part in self.parts], w),
            R=np.einsum("s,sab->ab", w, np.stack([part.R for part in self.parts])),
            n=int(self.counts.sum()),
            sums=sum((part.sums for part in self.parts), np.zeros_like(first.sums)),
            log_weights=float(
                sum(part.log_weights for part in self.parts) + self.counts @ np.log(w)
            ),
        )


def _combined_blocks(blocks: list[OffDiagonal], w: np.ndarray) -> OffDiagonal:
    if all(isinstance(block, DenseBlock) for block in blocks):
        stacked = np.stack([np.asarray(block.matrix) for block in blocks])
        return DenseBlock(np.einsum("s,sab->ab", w, stacked))
    total = sum(wi * sp.csr_matrix(block.matrix) for wi, block in zip(w, blocks))
    return SparseBlock(sp.csr_matrix(total))


def stratified_products(design: Design, stratum: np.ndarray, count: int) -> Strata:
    """The cross-products of each stratum of `design`'s rows.

    Parameters
    ----------
    design
        The model's columns with their prior weights.
    stratum
        Shape (n,), int in [0, count): each row's stratum.
    count
        Number of strata S; every stratum has rows.
    """
    weights = np.ones(design.n) if design.weights is None else design.weights
    parts = []
    for s in range(count):
        rows = stratum == s
        # rows of other strata weigh 0: the same structure, their products left out
        with np.errstate(divide="ignore"):
            A = cross_products(replace(design, weights=np.where(rows, weights, 0.0)))
        parts.append(
            replace(
                A,
                n=int(rows.sum()),
                sums=design.fixed.X[rows].sum(axis=0),
                log_weights=float(np.log(weights[rows]).sum()),
            )
        )
    return Strata(tuple(parts))
