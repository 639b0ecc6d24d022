"""Moment-based starting values for θ, from the cross-products alone.

From lme4's start (identity templates) an optimizer spends evaluations finding the scale of
each variance; a start near the optimum saves them (BOBYQA on InstEval: about half).  For
each term j and coefficient a, with OLS residuals r and the term's covariate z_a,

    SSB_ja = Σ_g (Σ_{i∈g} z_ia r_i)² / Σ_{i∈g} z_ia²,   E[SSB_ja] ≈ ℓ_j σ² + σ²_ja Σ_{g,i} z_ia²,

a method-of-moments equation (the one-way ANOVA estimator, weighted) solved for σ²_ja, and
θ_ja = σ_ja / σ; off-diagonals start at 0.  Every sum is a block of A: Zᵀy and ZᵀX (rows
of B for the first term, of R for the others) and the diagonal of ZᵀZ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.covariance import ThetaLayout

# A variance estimated as ≤ 0 starts off the boundary, where θ_a z_a has a root mean square
# of SMALLEST (θ_a = SMALLEST for an intercept): in the covariate's units, so that the start of
# an uncentred slope (a temperature near 200, say) is not 200 times too large, which led the
# optimizer to a worse local optimum of ``angle ~ temp + (temp | replicate)`` on cake.
SMALLEST = 0.1


def moment_start(A: CrossProducts) -> np.ndarray:
    """Starting θ (lme4's order) from method-of-moments variance estimates."""
    structure = A.structure
    beta, rss = ordinary_least_squares(A)
    sums = [_first_term(A, beta, structure.nlevels[0])]
    for block, k in zip(structure.rest_slices, structure.ks[1:]):
        Ztr = A.R[block, -1] - A.R[block, structure.fixed] @ beta
        sums.append((Ztr.reshape(-1, k), np.diag(A.R)[block].reshape(-1, k)))
    # the residual variance within the groups of the term that explains most
    within = [(rss - _ssb(Ztr, ztz)[0]) / max(A.n - A.p - Ztr.shape[0], 1) for Ztr, ztz in sums]
    sigma2 = max(min(within), 1e-12)
    ratios = [_ratio(Ztr, ztz, sigma2, A.n) for Ztr, ztz in sums]
    return ThetaLayout(structure.ks).flatten([np.diag(ratio) for ratio in ratios])


def ordinary_least_squares(A: CrossProducts) -> tuple[np.ndarray, float]:
    """β of y on X alone (shape (p,)) and its residual sum of squares, from XᵀX, Xᵀy, yᵀy."""
    fixed = A.structure.fixed
    XtX = A.R[fixed, fixed]
    Xty = A.R[fixed, -1]
    beta = np.linalg.lstsq(XtX, Xty, rcond=None)[0] if A.p else np.zeros(0)
    return beta, float(A.R[-1, -1] - 2 * beta @ Xty + beta @ XtX @ beta)


def _first_term(A: CrossProducts, beta: np.ndarray, ell: int) -> tuple[np.ndarray, np.ndarray]:
    q, p = A.q_rest, A.p
    B = A.B.matrix
    rows = B[q:]  # the X rows and the y row of B: Z₁ᵀX and Z₁ᵀy
    rows = rows.toarray() if hasattr(rows, "toarray") else np.asarray(rows)
    Ztr = rows[-1] - beta @ rows[:p]
    k = A.A11.shape[1]
    ztz = np.diagonal(A.A11, axis1=1, axis2=2)
    return Ztr.reshape(ell, k), ztz


def _ssb(Ztr: np.ndarray, ztz: np.ndarray) -> np.ndarray:
    """Between-group sums of squares per coefficient; shape (k,)."""
    used = ztz > 0
    return np.where(used, Ztr**2 / np.where(used, ztz, 1.0), 0.0).sum(axis=0)


def _ratio(Ztr: np.ndarray, ztz: np.ndarray, sigma2: float, n: int) -> np.ndarray:
    """σ_a/σ per coefficient a from the weighted one-way moment equation; shape (k,)."""
    ssb = _ssb(Ztr, ztz)
    n_levels = (ztz > 0).sum(axis=0)
    variance = (ssb - n_levels * sigma2) / np.maximum(ztz.sum(axis=0), 1e-300)
    floor = SMALLEST**2 * n / np.maximum(ztz.sum(axis=0), 1e-300)
    return np.sqrt(np.maximum(variance / sigma2, floor))


def refit_start(theta: np.ndarray, A: CrossProducts, tol: float) -> np.ndarray:
    """An earlier estimate as the start of a refit on other cross-products (a new response, an
    offset), with each template diagonal below `tol` replaced by the moment start's.

    Where a whole template column is zero the profiled deviance is stationary (it is even in
    each column's sign), so a gradient method started there would not leave it.
    """
    off = ThetaLayout(A.structure.ks).is_diagonal & (theta < tol)
    if not off.any():  # the usual case: nothing to compute
        return theta
    return np.where(off, moment_start(A), theta)


def dispersion_start(
    parts: Sequence[CrossProducts], total: CrossProducts, D: np.ndarray
) -> np.ndarray:
    """Starting γ of a residual SD per stratum (log δ = D γ, `mixedfx.pls.dispersion`) from
    each stratum's residual variance within the levels of the first term: the one-way
    moment estimator of `moment_start` on the stratum's cross-products A_s, at the OLS β
    of all rows (`total` = Σ_s A_s); the log ratios to the reference stratum's, fitted by
    least squares."""
    beta, _ = ordinary_least_squares(total)
    within = np.array([_within(part, beta) for part in parts])
    log_ratio = 0.5 * np.log(within / within[0])
    return np.linalg.lstsq(D, log_ratio, rcond=None)[0] if D.size else np.zeros(0)


def _within(A: CrossProducts, beta: np.ndarray) -> float:
    """The residual variance of A's rows about a regression within each level of the first
    term (all its k coefficients; at β for the fixed effects): rss less each level's
    between part r_gᵀ (Z_gᵀZ_g)⁺ r_g, r_g = Z_gᵀ(y − Xβ), over n less the coefficients fitted."""
    fixed = A.structure.fixed
    XtX, Xty = A.R[fixed, fixed], A.R[fixed, -1]
    rss = float(A.R[-1, -1] - 2 * beta @ Xty + beta @ XtX @ beta)
    Ztr, _ = _first_term(A, beta, A.structure.nlevels[0])
    values, vectors = np.linalg.eigh(A.A11)
    kept = values > 1e-10 * values.max(initial=0.0)  # levels without rows: zero blocks
    projected = np.einsum("ga,gab->gb", Ztr, vectors)
    between = float(np.sum(np.where(kept, projected**2 / np.where(kept, values, 1.0), 0.0)))
    return max(rss - between, 1e-12 * max(rss, 1e-300)) / max(A.n - int(kept.sum()), 1)
