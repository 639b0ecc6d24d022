"""Responses simulated from a fitted model in the space of the cross-products.

A refit to a simulated response y* = Xβ + Zb* + ε* needs only the response's part of A:
[Z X]ᵀy* and y*ᵀy* (Z and X do not change).  Both are drawn here without the rows, with
exactly the distribution they have when y* is drawn row by row.  With G = [Z X]ᵀ[Z X] and
c = [b*; β] (b* ~ N(0, σ²ΛΛᵀ)), u = [Z X]c:

    [Z X]ᵀy* = G c + w,            w = [Z X]ᵀε* ~ N(0, σ² G),
    y*ᵀy*    = cᵀG c + 2 cᵀw + ‖ε*‖²,

and ‖ε*‖² splits into its projection on the columns of [Z X], wᵀG⁺w, and an independent
σ²χ² with n − rank(G) degrees of freedom.  A factor G = M Mᵀ with M of full column rank
gives w = σ M ξ and wᵀG⁺w = σ²‖ξ‖², ξ standard normal.  M follows the blocks of A: the
first term's block diagonal A₁₁ = blockdiag(V_g D_g V_gᵀ) by eigen-decomposition (a level's
block may be singular), then the Schur complement S = R_W − B A₁₁⁺ Bᵀ of the other columns
W = [Z_rest X] by pivoted Cholesky:

    M = [[M₁, 0], [B M₁⁺ᵀ, M₂]],   M₁ = V D^½,   M₁⁺ᵀ = V D^-½,   M₂M₂ᵀ = S.

(B's rows vanish on the null space of A₁₁, as both are products with the same columns Z₁.)
A replicate costs a product with G and with M, of the order of A's size, not of n.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixedfx.crossprod.products import CrossProducts

# A direction whose share of the squared norm is below this is in the span of the others:
# eigenvalues of a level's block relative to its largest, pivots of the Schur complement
# relative to their column's norm.
RANK_TOL = 1e-10


def draw_random_effects(
    templates: list[np.ndarray], sigma: float, nlevels: tuple[int, ...], rng: np.random.Generator
) -> list[np.ndarray]:
    """b* ~ N(0, σ²ΛΛᵀ): per term (model order), shape (ℓ_j, k_j), level g's row σ T_j η_g."""
    return [
        sigma * rng.standard_normal((ell, T.shape[0])) @ T.T for T, ell in zip(templates, nlevels)
    ]


@dataclass(frozen=True)
class ResponseSimulator:
    """Draws the response's cross-products of a model with parameters (β, σ, templates).

    Attributes
    ----------
    A
        The cross-products whose columns [Z X] the draws are taken against.
    beta
        Shape (p,): the fixed effects simulated from.
    sigma
        The residual standard deviation.
    templates
        One k_j × k_j template per term: b* ~ N(0, σ² T Tᵀ) per level.
    M1, M1_pinv
        Shape (ℓ₁, k₁, k₁): V D^½ and V D^-½ per level, null directions zeroed.
    M2
        Shape (r − 1, rank S): the pivoted Cholesky factor of S, rows in W's order.
    B_W
        Shape (r − 1, ℓ₁k₁): WᵀZ₁, B without the response's row (dense or sparse).
    residual_df
        n − rank(G): the degrees of freedom of ε*'s part outside the columns.
    """

    A: CrossProducts
    beta: np.ndarray
    sigma: float
    templates: list[np.ndarray]
    M1: np.ndarray
    M1_pinv: np.ndarray
    M2: np.ndarray
    B_W: np.ndarray | sp.csr_matrix
    residual_df: int

    @classmethod
    def of(
        cls, A: CrossProducts, beta: np.ndarray, sigma: float, templates: list[np.ndarray]
    ) -> ResponseSimulator:
        d, V = np.linalg.eigh(A.A11)
        largest = np.maximum(d.max(axis=1, initial=0.0), 1e-300)
        positive = d > RANK_TOL * largest[:, None]
        root = np.sqrt(np.where(positive, d, 0.0))
        inverse_root = np.where(positive, 1.0 / np.where(positive, root, 1.0), 0.0)
        M1 = V * root[:, None, :]
        M1_pinv = V * inverse_root[:, None, :]
        pinv = M1_pinv @ np.swapaxes(M1_pinv, 1, 2)
        S = A.R.copy()
        A.B.subtract_schur(S, pinv)
        M2 = _pivoted_root(np.tril(S[:-1, :-1]) + np.tril(S[:-1, :-1], -1).T, np.diag(A.R)[:-1])
        rank = int(positive.sum()) + M2.shape[1]
        B_W = A.B.matrix[:-1]
        return cls(A, beta, sigma, templates, M1, M1_pinv, M2, B_W, A.n - rank)

    def draw(self, rng: np.random.Generator) -> CrossProducts:
        """The cross-products of one simulated response (less the offset)."""
        return with_response(self.A, *self.draw_response_products(rng))

    def draw_response_products(
        self, rng: np.random.Generator, b: list[np.ndarray] | None = None
    ) -> tuple[np.ndarray, float]:
        """[Z X]ᵀy* (shape (q + p,), A's column order) and y*ᵀy* of one simulated response;
        with random effects `b` (per term, shape (ℓ_j, k_j)) if given, else drawn."""
        A = self.A
        if b is None:
            b = draw_random_effects(self.templates, self.sigma, A.structure.nlevels, rng)
        c1 = b[0].ravel()
        c_rest = np.concatenate([*(bj.ravel() for bj in b[1:]), self.beta])
        Gc1, Gc_rest = self._gram_times(c1, c_rest)
        w1, w_rest, xi_sq = self._noise(rng)
        chi_sq = rng.chisquare(self.residual_df) if self.residual_df > 0 else 0.0
        yty = (
            c1 @ Gc1
            + c_rest @ Gc_rest
            + 2.0 * (c1 @ w1 + c_rest @ w_rest)
            + self.sigma**2 * (xi_sq + chi_sq)
        )
        return np.concatenate([Gc1 + w1, Gc_rest + w_rest]), float(yty)

    def _gram_times(self, c1: np.ndarray, c_rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """G c split as (Z₁ᵀ[Z X]c, Wᵀ[Z X]c)."""
        A = self.A
        ell, k = A.A11.shape[:2]
        first = np.einsum("gab,gb->ga", A.A11, c1.reshape(ell, k)).ravel()
        first = first + np.asarray(self.B_W.T @ c_rest).ravel()
        rest = np.asarray(self.B_W @ c1).ravel() + A.R[:-1, :-1] @ c_rest
        return first, rest

    def _noise(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
        """w = σ M ξ split as (Z₁ᵀε*, Wᵀε*), and ‖ξ‖²."""
        ell, k = self.M1.shape[:2]
        xi1 = rng.standard_normal((ell, k))
        xi2 = rng.standard_normal(self.M2.shape[1])
        w1 = np.einsum("gab,gb->ga", self.M1, xi1).ravel()
        coupled = np.einsum("gab,gb->ga", self.M1_pinv, xi1).ravel()
        w_rest = np.asarray(self.B_W @ coupled).ravel() + self.M2 @ xi2
        live = np.abs(self.M1).sum(axis=1) > 0  # ξ₁'s components outside null directions
        xi_sq = float(np.sum(xi1[live] ** 2)) + float(np.dot(xi2, xi2))
        return self.sigma * w1, self.sigma * w_rest, xi_sq


@dataclass(frozen=True)
class StratifiedSimulator:
    """Draws each stratum's cross-products for a model with a residual SD σ δ_s per stratum of
    rows: the random effects, b* ~ N(0, σ²ΛΛᵀ), shared by all strata, each stratum's noise
    with its own SD (its `ResponseSimulator`'s σ).

    Attributes
    ----------
    strata
        One simulator per stratum, on the stratum's cross-products, σ δ_s its SD.
    sigma
        σ, the reference stratum's SD, which scales the random effects.
    """

    strata: tuple[ResponseSimulator, ...]
    sigma: float

    @classmethod
    def of(
        cls,
        parts: tuple[CrossProducts, ...],
        beta: np.ndarray,
        sigma: float,
        ratios: np.ndarray,
        templates: list[np.ndarray],
    ) -> StratifiedSimulator:
        simulators = (
            ResponseSimulator.of(A, beta, sigma * ratio, templates)
            for A, ratio in zip(parts, ratios)
        )
        return cls(tuple(simulators), sigma)

    def draw(self, rng: np.random.Generator) -> tuple[CrossProducts, ...]:
        """Each stratum's cross-products of one simulated response."""
        products = self.draw_response_products(rng)
        return tuple(with_response(s.A, *p) for s, p in zip(self.strata, products))

    def draw_response_products(self, rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
        """Each stratum's [Z X]ᵀy* and y*ᵀy* (`ResponseSimulator.draw_response_products`)
        of one simulated response, its random effects shared."""
        first = self.strata[0]
        nlevels = first.A.structure.nlevels
        b = draw_random_effects(first.templates, self.sigma, nlevels, rng)
        return [s.draw_response_products(rng, b) for s in self.strata]


def with_response(A: CrossProducts, Zty: np.ndarray, yty: float) -> CrossProducts:
    """A with the response's row and column replaced by [Z X]ᵀy (shape (q + p,), A's
    column order) and yᵀy."""
    R = A.R.copy()
    R[:-1, -1] = R[-1, :-1] = Zty[A.q1 :]
    R[-1, -1] = yty
    return replace(A, B=A.B.with_last_row(Zty[: A.q1]), R=R)


def _pivoted_root(S: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """M (m × rank) with M Mᵀ = S for a positive semi-definite Schur complement S, by
    LAPACK's pivoted Cholesky (dpstrf).

    S's columns are first scaled by the squared norms of the columns they came from
    (`norms`, the diagonal before elimination): a scaled pivot is the share of a column
    that the earlier ones leave unexplained, and below `RANK_TOL` the column is in their
    span (a rounding error's square root would otherwise enter the draws as noise).
    """
    if S.size == 0:
        return np.zeros((0, 0))
    scale = np.sqrt(np.where(norms > 0, norms, 1.0))
    L, piv, rank, info = lapack.dpstrf(S / np.outer(scale, scale), lower=1, tol=RANK_TOL)
    if info < 0:
        raise ValueError(f"dpstrf: argument {-info} is invalid")
    # dpstrf compares only pivots after the first with `tol`; the pivots decrease
    rank = int(np.sum(np.diag(L)[:rank] ** 2 > RANK_TOL))
    M = np.zeros((S.shape[0], rank))
    M[piv - 1] = np.tril(L)[:, :rank]
    return M * scale[:, None]
