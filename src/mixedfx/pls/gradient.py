"""The gradient ∂d/∂θ of the profiled deviance, by running the factorization backwards.

The forward pass (`mixedfx.pls.deviance`) computes, with P_g = S_g⁻¹,

    S_g = T₁ᵀ A_g T₁ + I,   H_g = T₁ P_g T₁ᵀ,   N = R − B·blockdiag(H)·Bᵀ,
    M = Λ_rᵀ N Λ_r + E,     M = L Lᵀ,

where Λ_r = blockdiag(I ⊗ T₂, …, I ⊗ T_m, I) scales the rows and columns of the terms
2..m and E adds the identity on their diagonal.  The objective is

    d = Σ_g log|S_g| + log|M_SS| + ν log r² + const,   r² = L_yy²,

with S the rows of terms 2..m (ML, ν = n) or of these and X (REML, ν = n − p).  Reverse-mode
differentiation (adjoints written x̄, with d d = Σ x̄ ∘ dx) gives, step by step backwards:

    M̄   = [M_SS⁻¹ on S] + (ν / r²) w wᵀ,     w = (−M_QQ⁻¹ M_Qy, 1), Q all rows but y;
    N̄   = Λ_r M̄ Λ_rᵀ,    ∂d/∂T_t = 2 Σ_j [M̄ Λ_rᵀ N]_jjᵀ   (diagonal blocks of term t, t ≥ 2);
    H̄_g = −[Bᵀ N̄ B]_gg;
    ∂d/∂T₁ = 2 Σ_g (H̄_g + A_g − A_g H_g H̄_g) T₁ P_g.

The first line holds because log|M_SS| and r² = M_yy − M_yQ M_QQ⁻¹ M_Qy are a log-determinant
and a Schur complement of M; the last collects the terms of log|S_g| and of H_g.  At a
given σ (not profiled), ν log r² becomes r²/σ² and ν/r² in M̄ becomes 1/σ².  Nothing
needs T_t to be invertible, so the gradient is exact on the boundary (zero variances) too.
The cost is an evaluation's plus one inversion of M_SS (LAPACK dpotri) and one pass over B
(`OffDiagonal.quadratic_blocks`).  A finite-difference gradient would cost nθ evaluations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixedfx.crossprod.offdiag import DenseBlock
from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.blockdiag import batched_lower_solve, gram
from mixedfx.pls.cholesky import BlockedCholesky, scale_rows
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion


@dataclass(frozen=True)
class Tape:
    """What the reverse pass reads of the forward pass.

    Attributes
    ----------
    chol
        The factor at θ.
    H1
        Shape (ℓ₁, k₁, k₁): T₁ S_g⁻¹ T₁ᵀ per level of the first term.
    N
        Shape (r, r): the Schur complement before the scaling by Λ_r (lower triangle valid).
    criterion
        The criterion evaluated, or None when only the factor was asked for.
    sigma
        The σ it was evaluated at, or None when profiled over σ.
    """

    chol: BlockedCholesky
    H1: np.ndarray
    N: np.ndarray
    criterion: Criterion | None
    sigma: float | None = None


def deviance_gradient(
    A: CrossProducts, layout: ThetaLayout, tape: Tape
) -> tuple[np.ndarray, BlockedAdjoint]:
    """∂d/∂θ at the tape's θ, shape (nθ,), and ∂d/∂A (`BlockedAdjoint`).

    Parameters
    ----------
    A
        The cross-products the objective was evaluated on.
    layout
        θ's layout.
    tape
        The forward pass at θ, with its criterion.
    """
    chol, criterion = tape.chol, tape.criterion
    assert criterion is not None  # a tape made for the reverse pass
    m = criterion.determinant_columns(chol.q_rest, chol.p)
    weight = criterion.pwrss_weight(chol.pwrss, chol.n, chol.p, tape.sigma)
    Mbar = _factor_adjoint(chol.Lrest, m, weight)
    rest = list(zip(A.structure.rest_slices, chol.templates[1:]))
    NLam = _fill_upper(tape.N)  # the tape's own copy of N, made N Λ_r in place: columns scaled
    grads = [np.zeros((k, k)) for k in layout.ks]
    for rows, T in rest:
        scale_rows(NLam.T, rows, T)
    for t, (rows, T) in enumerate(rest, start=1):
        k, r = T.shape[0], NLam.shape[0]
        blocks = (Mbar[rows].reshape(-1, k, r), NLam[rows].reshape(-1, k, r))
        grads[t] = 2.0 * np.tensordot(*blocks, axes=([0, 2], [0, 2])).T
    Nbar = Mbar  # Λ_r M̄ Λ_rᵀ, in place: M̄ is not needed any more
    for rows, T in rest:
        scale_rows(Nbar, rows, T.T)
        scale_rows(Nbar.T, rows, T.T)
    Hbar = -A.B.quadratic_blocks(Nbar, layout.ks[0])
    grads[0] = _first_term_gradient(A.A11, chol.templates[0], chol.L11, tape.H1, Hbar)
    return layout.flatten(grads), BlockedAdjoint(A, tape.H1, Hbar, Nbar)


@dataclass(frozen=True)
class BlockedAdjoint:
    """∂d/∂A at θ, held as the adjoints the reverse pass computed (see the module notes).

    With A's blocks as the variables (A11, B and R; B not repeated above the diagonal),

        Ā11_g = H_g − H_g H̄_g H_g,   B̄ = −2 N̄ B blockdiag(H),   R̄ = N̄,

    from log|S_g| and H_g's dependence on A11_g, and from N = R − B·blockdiag(H)·Bᵀ.  A
    criterion over cross-products that depend on other parameters, A(δ) = Σ_s w_s(δ) A_s
    (a residual variance per stratum of rows), differentiates through `inner`.

    Attributes
    ----------
    A
        The cross-products the criterion was evaluated on.
    H1, Hbar
        Shape (ℓ₁, k₁, k₁): H_g and H̄_g.
    Nbar
        Shape (r, r), symmetric: N̄.
    """

    A: CrossProducts
    H1: np.ndarray
    Hbar: np.ndarray
    Nbar: np.ndarray

    def inner(self, other: CrossProducts) -> float:
        """⟨∂d/∂A, A'⟩, the derivative of d along A' (cross-products of the same structure):
        Σ_g ⟨Ā11_g, A'11_g⟩ + ⟨B̄, B'⟩ + ⟨R̄, R'⟩, with ⟨B̄, B'⟩ = −2 ⟨N̄, B'·blockdiag(H)·Bᵀ⟩."""
        first = float(np.vdot(self._A11bar, other.A11))
        if isinstance(self.A.B, DenseBlock):
            cross = _entrywise(self._NBH, other.B.matrix)
        else:  # B̄ would be dense where B is sparse: the product with B' instead, per B'
            cross = self.A.B.schur_inner(self.Nbar, self.H1, other.B)
        return first + float(np.vdot(self.Nbar, other.R)) - 2.0 * cross

    @cached_property
    def _NBH(self) -> np.ndarray:
        """N̄ B blockdiag(H) = −B̄/2 for a dense B, shape (r, ℓ₁k₁): once for every A'."""
        return self.Nbar @ self.A.B.right_blocks(slice(None), self.H1)

    @cached_property
    def _A11bar(self) -> np.ndarray:
        """Ā11_g = H_g − H_g H̄_g H_g, shape (ℓ₁, k₁, k₁)."""
        H = self.H1
        if H.shape[1] == 1:  # a stacked matmul of 1 × 1 blocks costs far more than a product
            return H - H * self.Hbar * H
        return H - H @ self.Hbar @ H


def _factor_adjoint(L: np.ndarray, m: int, weight: float) -> np.ndarray:
    """M̄ (s × s): the derivative of the objective with respect to the entries of M = L Lᵀ.

    Parameters
    ----------
    L
        Shape (s, s): the lower factor (its strict upper triangle is not read).
    m
        The rows of M whose log-determinant the objective holds (the random effects', and
        for REML the fixed effects' too).
    weight
        ∂d/∂r² (`Criterion.pwrss_weight`).
    """
    # Lᵀ v = ℓ, ℓ the last row: Lᵀ is the upper factor in Fortran order, as LAPACK stores it
    v, _ = lapack.dtrtrs(L.T[:-1, :-1], L[-1, :-1], lower=0)
    w = np.append(-v, 1.0)
    Mbar = np.multiply.outer(w, w)
    Mbar *= weight
    if m:
        inverse, info = lapack.dpotri(L.T[:m, :m], lower=0)
        if info != 0:
            raise np.linalg.LinAlgError("the factor's leading block is singular")
        Mbar[:m, :m] += _fill_upper(inverse.T)
    return Mbar


def _entrywise(X: np.ndarray, Y: np.ndarray | sp.spmatrix) -> float:
    """Σ X ∘ Y for a dense X and a dense or sparse Y of its shape."""
    if isinstance(Y, np.ndarray):
        return float(np.vdot(X, Y))
    entries = sp.coo_matrix(Y)
    return float(entries.data @ X[entries.row, entries.col])


def _first_term_gradient(
    A11: np.ndarray, T: np.ndarray, L11: np.ndarray, H: np.ndarray, Hbar: np.ndarray
) -> np.ndarray:
    """2 Σ_g (H̄_g + A_g − A_g H_g H̄_g) T P_g, with P_g = S_g⁻¹ = L_g⁻ᵀ L_g⁻¹; shape (k, k)."""
    k = T.shape[0]
    P = gram(batched_lower_solve(L11, np.eye(k)))
    inner = Hbar + A11 - A11 @ (H @ Hbar)
    return 2.0 * np.tensordot(inner @ T, P, axes=([0, 2], [0, 1]))


def _fill_upper(X: np.ndarray, block: int = 128) -> np.ndarray:
    """In place: X's strict upper triangle ← its lower one, so X is symmetric; returns X.

    By column panels, which keeps both the reads and the writes in cache; numpy's `tril` and
    a transposed add take several times longer on the matrices here.
    """
    n = X.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        X[start:stop, stop:] = X[stop:, start:stop].T
        panel = X[start:stop, start:stop]
        rows, cols = _upper_indices(stop - start)
        panel[rows, cols] = panel[cols, rows]
    return X


@functools.cache
def _upper_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.triu_indices(n, 1)
    return rows, cols
