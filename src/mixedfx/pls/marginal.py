"""Cross-products in the metric of the marginal covariance, from A and the blocked factor.

The marginal covariance of y is V = σ² Ṽ, Ṽ = I + ZΛΛᵀZᵀ (n × n).  Inference on β
(Satterthwaite's derivatives of vcov(β̂), Kenward–Roger's adjusted covariance) needs the
cross-products of [Z X] in the metric Ṽ⁻¹,

    Ŝ = [Z X]ᵀ Ṽ⁻¹ [Z X] = Ĝ − Ĝ Λ̂ Ω⁻¹ Λ̂ᵀ Ĝ,   Ĝ = [Z X]ᵀ[Z X],   Ω = ΛᵀZᵀZΛ + I

(Woodbury; Λ̂ is Λ with zero rows for X), a matrix of order q + p.  The blocked factor splits
Ω⁻¹ along the first term, whose block S = blockdiag(S_g) is block diagonal:

    Ω⁻¹ = blockdiag(S⁻¹, 0) + JᵀJ,   J = L_zz⁻¹ [−Λ_rᵀ B_z Λ₁ S⁻¹, I],

with L_zz the random-effects block of the dense factor and B_z the rows of B for the terms
2..m ("the rest", r).  Substituted,

    Ŝ = P̂ − K̂ᵀK̂,   P̂ = Ĝ − Ĝ_{·1} H Ĝ_{1·},   K̂ = L_zz⁻¹ Λ_rᵀ P̂_{r·},

H = blockdiag(T₁ S_g⁻¹ T₁ᵀ) as in the evaluation.  P̂ is Ĝ with the first term eliminated:
block diagonal among the first term's columns (A_g − A_g H_g A_g), B(I − HA) between the
first term and the rest, and among the rest the Schur complement N = R − B H Bᵀ that each
evaluation forms.  K̂ has q_rest rows.  Nothing here has n rows; the only dense arrays beyond
those of an evaluation are K̂ and P̂_{r·}, q_rest × (q + p), and only Kenward–Roger asks for
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import solve_triangular

from mixedfx.crossprod.products import CrossProducts
from mixedfx.crossprod.structure import TermStructure
from mixedfx.pls.blockdiag import batched_lower_solve, gram
from mixedfx.pls.cholesky import BlockedCholesky, scale_rows


def term_blocks(X: np.ndarray, structure: TermStructure, j: int) -> np.ndarray:
    """Term j's rows of X (shape (q, m), rows: Z's columns) as shape (ℓ_j, k_j, m), a view."""
    return X[structure.slices[j]].reshape(structure.nlevels[j], structure.ks[j], -1)


@dataclass(frozen=True)
class MarginalProducts:
    """Ŝ = [Z X]ᵀ Ṽ⁻¹ [Z X] at the factor's θ, held as P̂ − K̂ᵀK̂ (module notes).

    Attributes
    ----------
    A
        The cross-products the factor was computed from.
    chol
        The blocked factor at θ.
    """

    A: CrossProducts
    chol: BlockedCholesky

    @property
    def structure(self) -> TermStructure:
        return self.A.structure

    @cached_property
    def H(self) -> np.ndarray:
        """Shape (ℓ₁, k₁, k₁): T₁ S_g⁻¹ T₁ᵀ per level of the first term."""
        T1 = self.chol.templates[0]
        return gram(batched_lower_solve(self.chol.L11, T1.T))

    @cached_property
    def N(self) -> np.ndarray:
        """Shape (r, r), symmetric: R − B H Bᵀ, the rest's cross-products (rows: terms 2..m,
        X, y) with the first term eliminated."""
        M = self.A.R.copy()
        self.A.B.subtract_schur(M, self.H)  # updates the lower triangle
        return np.tril(M) + np.tril(M, -1).T

    @cached_property
    def first(self) -> np.ndarray:
        """Shape (ℓ₁, k₁, k₁): P̂'s diagonal blocks for the first term, A_g − A_g H_g A_g."""
        A11 = self.A.A11
        return A11 - A11 @ self.H @ A11

    def first_rows(self, X: np.ndarray) -> np.ndarray:
        """P̂_{1w} X = (I − AH) B_wᵀ X for X of shape (r, m) (rows: the rest, X and y, of which
        the caller fills those it needs); shape (ℓ₁k₁, m)."""
        BtX = np.asarray(self.A.B.matrix.T @ X).reshape(self.A.A11.shape[0], -1, X.shape[1])
        return (BtX - self.A.A11 @ (self.H @ BtX)).reshape(self.structure.q1, -1)

    @cached_property
    def Lzz(self) -> np.ndarray:
        """Shape (q_rest, q_rest): the random-effects block of the dense factor, lower."""
        q = self.structure.q_rest
        return np.tril(self.chol.Lrest[:q, :q])

    def scale_rest(self, X: np.ndarray, transpose: bool = False) -> np.ndarray:
        """In place: X (q_rest rows) ← Λ_rᵀ X, or Λ_r X with `transpose`; returns X."""
        for rows, T in zip(self.structure.rest_slices, self.chol.templates[1:]):
            scale_rows(X, rows, T.T if transpose else T)
        return X

    @cached_property
    def zx(self) -> np.ndarray:
        """Shape (q, p): F = Zᵀ Ṽ⁻¹ X = P̂_{zx} − K̂_zᵀ K̂_x.

        K̂_x = L_zz⁻¹ Λ_rᵀ N_{rx} is the factor's X-by-random block (transposed), so
        K̂_zᵀ K̂_x = P̂_{zr} Y with Y = Λ_r L_zz⁻ᵀ K̂_x, and F = P̂_{zw} [−Y; I; 0]: one product
        with B and one with N's rows.
        """
        q, p = self.structure.q_rest, self.structure.p
        Y = np.zeros((q, p))
        if q:
            Kx = self.chol.Lrest[self.structure.fixed, :q].T
            Y = self.scale_rest(solve_triangular(self.Lzz, Kx, lower=True, trans="T"), True)
        coefficients = np.vstack([-Y, np.eye(p), np.zeros((1, p))])
        return np.vstack([self.first_rows(coefficients), self.N[:q] @ coefficients])

    @property
    def xx(self) -> np.ndarray:
        """Shape (p, p): C = Xᵀ Ṽ⁻¹ X = L_X L_Xᵀ, the inverse of vcov(β̂) / σ²."""
        LX = np.tril(self.chol.Lrest[self.structure.fixed, self.structure.fixed])
        return LX @ LX.T

    @cached_property
    def rest(self) -> np.ndarray:
        """Shape (q_rest, q): P̂_{rz}, the rest's rows of P̂ among the random effects."""
        q, k = self.structure.q_rest, self.H.shape[1]
        eliminated = self.A.B.right_blocks(slice(0, q), np.eye(k) - self.H @ self.A.A11)
        return np.hstack([eliminated, self.N[:q, :q]])

    @cached_property
    def K(self) -> np.ndarray:
        """Shape (q_rest, q): K̂_z = L_zz⁻¹ Λ_rᵀ P̂_{rz}."""
        if not self.structure.q_rest:
            return np.zeros((0, self.structure.q))
        scaled = self.scale_rest(self.rest.copy())
        return solve_triangular(self.Lzz, scaled, lower=True, overwrite_b=True)

    def zz_product(self, X: np.ndarray) -> np.ndarray:
        """S̃ X = Zᵀ Ṽ⁻¹ Z X = P̂_{zz} X − K̂ᵀ (K̂ X) for X of shape (q, m)."""
        q1 = self.structure.q1
        X1 = X[:q1].reshape(self.A.A11.shape[0], -1, X.shape[1])
        top = (self.first @ X1).reshape(q1, -1) + self.rest[:, :q1].T @ X[q1:]
        bottom = self.rest @ X
        return np.vstack([top, bottom]) - self.K.T @ (self.K @ X)
