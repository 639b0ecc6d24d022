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

    Ŝ = P̂ − K̂ᵀK̂,   P̂ = Ĝ − Ĝ_{·1} W Ĝ_{1·},   K̂ = L_zz⁻¹ Λ_rᵀ P̂_{r·},

W = blockdiag(T₁ S_g⁻¹ T₁ᵀ) as in the evaluation.  P̂ is Ĝ with the first term eliminated:
block diagonal among the first term's columns (A_g − A_g W_g A_g), B(I − WA) between the
first term and the rest, and among the rest the Schur complement N = R − B W Bᵀ that each
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
from mixedfx.pls.blockdiag import batched_lower_solve, gram
from mixedfx.pls.factor import Factor, scale_rows


@dataclass(frozen=True)
class TermColumns:
    """Where one random-effects term sits among the q columns of Z.

    Attributes
    ----------
    columns
        Its ℓk columns of Z (level by level, k per level).
    levels, k
        Its number of levels and of coefficients per level.
    """

    columns: slice
    levels: int
    k: int

    def blocks(self, X: np.ndarray) -> np.ndarray:
        """The term's rows of X (shape (q, m)) as shape (ℓ, k, m), a view."""
        return X[self.columns].reshape(self.levels, self.k, -1)


def term_columns(levels: tuple[int, ...], ks: tuple[int, ...]) -> list[TermColumns]:
    """Each term's columns in Z, model order."""
    out, start = [], 0
    for ell, k in zip(levels, ks):
        out.append(TermColumns(slice(start, start + ell * k), ell, k))
        start += ell * k
    return out


@dataclass(frozen=True)
class MarginalProducts:
    """Ŝ = [Z X]ᵀ Ṽ⁻¹ [Z X] at the factor's θ, held as P̂ − K̂ᵀK̂ (module notes).

    Attributes
    ----------
    A
        The cross-products the factor was computed from.
    factor
        The blocked factor at θ.
    levels
        The number of levels of each term, model order.
    """

    A: CrossProducts
    factor: Factor
    levels: tuple[int, ...]

    @cached_property
    def terms(self) -> list[TermColumns]:
        return term_columns(self.levels, tuple(T.shape[0] for T in self.factor.templates))

    @property
    def q(self) -> int:
        return self.A.q1 + self.A.q_rest

    @cached_property
    def W(self) -> np.ndarray:
        """Shape (ℓ₁, k₁, k₁): T₁ S_g⁻¹ T₁ᵀ per level of the first term."""
        T1 = self.factor.templates[0]
        return gram(batched_lower_solve(self.factor.L11, T1.T))

    @cached_property
    def N(self) -> np.ndarray:
        """Shape (r, r), symmetric: R − B W Bᵀ, the rest's cross-products (rows: terms 2..m,
        X, y) with the first term eliminated."""
        M = self.A.R.copy()
        self.A.B.subtract_schur(M, self.W)  # updates the lower triangle
        return np.tril(M) + np.tril(M, -1).T

    @cached_property
    def first(self) -> np.ndarray:
        """Shape (ℓ₁, k₁, k₁): P̂'s diagonal blocks for the first term, A_g − A_g W_g A_g."""
        A11 = self.A.A11
        return A11 - A11 @ self.W @ A11

    def first_rows(self, X: np.ndarray) -> np.ndarray:
        """P̂_{1w} X = (I − AW) B_wᵀ X for X of shape (r, m) (rows: the rest, X and y, of which
        the caller fills those it needs); shape (ℓ₁k₁, m)."""
        BtX = np.asarray(self.A.B.matrix.T @ X).reshape(self.A.A11.shape[0], -1, X.shape[1])
        return (BtX - self.A.A11 @ (self.W @ BtX)).reshape(self.A.q1, -1)

    @cached_property
    def Lzz(self) -> np.ndarray:
        """Shape (q_rest, q_rest): the random-effects block of the dense factor, lower."""
        q = self.A.q_rest
        return np.tril(self.factor.Lrest[:q, :q])

    def scale_rest(self, X: np.ndarray, transpose: bool = False) -> np.ndarray:
        """In place: X (q_rest rows) ← Λ_rᵀ X, or Λ_r X with `transpose`; returns X."""
        for term, T in zip(self.terms[1:], self.factor.templates[1:]):
            rows = slice(term.columns.start - self.A.q1, term.columns.stop - self.A.q1)
            scale_rows(X, rows, T.T if transpose else T)
        return X

    @cached_property
    def zx(self) -> np.ndarray:
        """Shape (q, p): F = Zᵀ Ṽ⁻¹ X = P̂_{zx} − K̂_zᵀ K̂_x.

        K̂_x = L_zz⁻¹ Λ_rᵀ N_{rx} is the factor's X-by-random block (transposed), so
        K̂_zᵀ K̂_x = P̂_{zr} Y with Y = Λ_r L_zz⁻ᵀ K̂_x, and F = P̂_{zw} [−Y; I; 0]: one product
        with B and one with N's rows.
        """
        q, p = self.A.q_rest, self.A.p
        Y = np.zeros((q, p))
        if q:
            Kx = self.factor.Lrest[q : q + p, :q].T
            Y = self.scale_rest(solve_triangular(self.Lzz, Kx, lower=True, trans="T"), True)
        coefficients = np.vstack([-Y, np.eye(p), np.zeros((1, p))])
        return np.vstack([self.first_rows(coefficients), self.N[:q] @ coefficients])

    @property
    def xx(self) -> np.ndarray:
        """Shape (p, p): Xᵀ Ṽ⁻¹ X = L_X L_Xᵀ."""
        q, p = self.A.q_rest, self.A.p
        LX = np.tril(self.factor.Lrest[q : q + p, q : q + p])
        return LX @ LX.T

    @cached_property
    def rest(self) -> np.ndarray:
        """Shape (q_rest, q): P̂_{rz}, the rest's rows of P̂ among the random effects."""
        q, k = self.A.q_rest, self.W.shape[1]
        eliminated = self.A.B.right_blocks(slice(0, q), np.eye(k) - self.W @ self.A.A11)
        return np.hstack([eliminated, self.N[:q, :q]])

    @cached_property
    def K(self) -> np.ndarray:
        """Shape (q_rest, q): K̂_z = L_zz⁻¹ Λ_rᵀ P̂_{rz}."""
        if not self.A.q_rest:
            return np.zeros((0, self.q))
        scaled = self.scale_rest(self.rest.copy())
        return solve_triangular(self.Lzz, scaled, lower=True, overwrite_b=True)

    def zz_product(self, X: np.ndarray) -> np.ndarray:
        """S̃ X = Zᵀ Ṽ⁻¹ Z X = P̂_{zz} X − K̂ᵀ (K̂ X) for X of shape (q, m)."""
        q1 = self.A.q1
        X1 = X[:q1].reshape(self.A.A11.shape[0], -1, X.shape[1])
        top = (self.first @ X1).reshape(q1, -1) + self.rest[:, :q1].T @ X[q1:]
        bottom = self.rest @ X
        return np.vstack([top, bottom]) - self.K.T @ (self.K @ X)
