"""Cross-products per stratum of rows, combined with a weight per stratum.

A residual variance that differs between strata of rows (the levels of a factor: nlme's
``varIdent``, glmmTMB's ``dispformula = ~ State``) gives row i the weight 1/δ²_s(i).  For
fixed weights the model is an ordinary weighted linear mixed model, and its cross-products are

    A(w) = Σ_s w_s A_s,

the per-stratum cross-products A_s (computed once, each with the prior weights) combined
with one number per stratum: an evaluation at new δ never reads a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from mixedfx.crossprod.offdiag import DenseBlock, OffDiagonal, SparseBlock
from mixedfx.crossprod.products import DENSE_UP_TO, CrossProducts, cross_products
from mixedfx.data.design import Design

if TYPE_CHECKING:
    from mixedfx.pls.evaluated import ProductsAdjoint


@dataclass(frozen=True)
class Strata:
    """The cross-products A_s of each stratum of rows, all of the model's full structure.

    Attributes
    ----------
    parts
        A_s per stratum, stratum order.
    """

    parts: tuple[CrossProducts, ...]

    @cached_property
    def counts(self) -> np.ndarray:
        """Shape (S,): rows per stratum, n_s."""
        return np.array([part.n for part in self.parts])

    def combined(self, w: np.ndarray) -> CrossProducts:
        """A(w) = Σ_s w_s A_s, with the weights' term Σ_s (Σ_{i∈s} log wᵢ + n_s log w_s).

        B is stored densely or sparse as the strata's is, never with precomputed products
        (`PatternBlock`): those are quadratic in w, so they would be computed anew at
        every w.
        """
        log_weights = self.total.log_weights + float(self.counts @ np.log(w))
        combined = self._at(w, log_weights)
        if self.parts[0].size > DENSE_UP_TO:
            return combined
        return combined.knowing_dense(_weighted_sum(w, self._denses))

    @cached_property
    def total(self) -> CrossProducts:
        """Σ_s A_s: every row with its prior weight only."""
        return self._at(np.ones(len(self.parts)), sum(part.log_weights for part in self.parts))

    def _at(self, w: np.ndarray, log_weights: float) -> CrossProducts:
        """Σ_s w_s A_s's blocks with the given weights' term."""
        first = self.parts[0]
        return CrossProducts(
            _weighted_sum(w, self._A11s),
            self._combined_B(w),
            _weighted_sum(w, self._Rs),
            int(self.counts.sum()),
            first.structure,
            np.sum([part.sums for part in self.parts], axis=0),
            float(log_weights),
        )

    @cached_property
    def _denses(self) -> np.ndarray:
        """Shape (S, s, s): every stratum's A as one dense matrix (small models)."""
        return np.stack([part.dense for part in self.parts])

    @cached_property
    def _A11s(self) -> np.ndarray:
        """Shape (S, ℓ₁, k₁, k₁): every stratum's A11, stacked once."""
        return np.stack([part.A11 for part in self.parts])

    @cached_property
    def _Rs(self) -> np.ndarray:
        """Shape (S, r, r)."""
        return np.stack([part.R for part in self.parts])

    @cached_property
    def _Bs(self) -> np.ndarray | list[sp.csr_matrix]:
        """Every stratum's B: stacked, shape (S, r, ℓ₁k₁), where all are dense; else CSR."""
        blocks = [part.B for part in self.parts]
        if all(isinstance(block, DenseBlock) for block in blocks):
            return np.stack([np.asarray(block.matrix) for block in blocks])
        return [sp.csr_matrix(block.matrix) for block in blocks]

    def _combined_B(self, w: np.ndarray) -> OffDiagonal:
        if isinstance(self._Bs, np.ndarray):
            return DenseBlock(_weighted_sum(w, self._Bs))
        return SparseBlock(sp.csr_matrix(sum(wi * B for wi, B in zip(w, self._Bs))))


def _weighted_sum(w: np.ndarray, stacked: np.ndarray) -> np.ndarray:
    """Σ_s w_s stacked[s]: one matrix-vector product (tensordot's set-up costs more here)."""
    return (w @ stacked.reshape(stacked.shape[0], -1)).reshape(stacked.shape[1:])


def stratified_products(design: Design, stratum: np.ndarray, count: int) -> Strata:
    """The cross-products of each stratum of `design`'s rows (one pass over the rows in all).

    Parameters
    ----------
    design
        The model's columns with their prior weights.
    stratum
        Shape (n,), int in [0, count): each row's stratum.
    count
        Number of strata S; every stratum has rows.
    """
    order = np.argsort(stratum, kind="stable")
    bounds = np.searchsorted(stratum[order], np.arange(count + 1))
    parts = (cross_products(design.take(order[a:b])) for a, b in pairwise(bounds))
    return Strata(tuple(parts))


@dataclass(frozen=True)
class StrataDispersion:
    """A(γ) = Σ_s w_s A_s with w_s = exp(−2 (D γ)_s): a residual SD σ δ_s per stratum, log δ =
    D γ (`mixedfx.pls.dispersion`).  Neither the cross-products nor their derivatives read a
    row.

    Attributes
    ----------
    strata
        The cross-products of each stratum.
    D
        Shape (S, m).
    """

    strata: Strata
    D: np.ndarray

    @property
    def size(self) -> int:
        """m, the entries of γ."""
        return self.D.shape[1]

    @property
    def plain(self) -> CrossProducts:
        """A at γ = 0 (every row with its prior weight)."""
        return self.strata.total

    @property
    def squares(self) -> np.ndarray:
        """Shape (m,): Σᵢ X_ij² = Σ_s n_s D_sj²."""
        return (self.D**2).T @ self.strata.counts

    def weights(self, gamma: np.ndarray) -> np.ndarray:
        """Shape (S,): w_s = δ_s⁻²."""
        return np.exp(-2.0 * (self.D @ gamma))

    def at(self, gamma: np.ndarray) -> CrossProducts:
        """A(γ), with the weights' term."""
        return self.strata.combined(self.weights(gamma))

    def gamma_gradient(self, gamma: np.ndarray, adjoint: ProductsAdjoint) -> np.ndarray:
        """∂d/∂γ of a criterion d₀(A(γ)) − log_weights(γ), from its ∂d₀/∂A: the chain rule
        through w_s, ∂w_s/∂γ_j = −2 D_sj w_s, one inner product per stratum; shape (m,)."""
        w = self.weights(gamma)
        along = np.array([adjoint.inner(part) for part in self.strata.parts])
        return self.D.T @ (-2.0 * w * (along - self.strata.counts / w))
