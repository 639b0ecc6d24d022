"""The ML deviance with one parameter held fixed, as a function of the parameters left free.

A likelihood profile minimizes the deviance over every other parameter while one, ψ, is held
at a value.  Rather than searching lme4's standard-deviation/correlation scale directly (where
a correlation of ±1 is a singular point of the map to θ, and a derivative-free search stalls
near it), each restriction is written in θ-space, where the exact gradient of
`mixedfx.pls.gradient` applies, ±1 correlations are ordinary bounds (a zero template diagonal),
and `mixedfx.optimize.minimize_theta` restarts off such bounds:

* σ = v: the deviance at σ = v, over all of θ;
* an SD of coefficient a: with the term's coefficients reordered so that a comes first, its
  template's first row is (t, 0, …, 0) and the SD is σ t; holding it at v > 0 makes
  σ = v / t a function of θ (at v = 0, t = 0 and σ is profiled out as usual);
* a correlation of coefficients a and b: reordered to come first and second, rows
  (t₀₀, 0, …) and s (ρ, √(1 − ρ²), 0, …) hold it at ρ whatever t₀₀ ≥ 0 and s ≥ 0, so θ is
  linear in the free parameters;
* a fixed effect β_j = v: x_j v moved into the response (`offset_cross_products`).

Reordering a term's coefficients changes only the order of A's rows and columns
(`reordered_cross_products`), and the lower-triangular template of the reordered term comes
from a QR decomposition (`reordered_theta`), which works on the boundary too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from mixedfx.crossprod.offdiag import off_diagonal
from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.deviance import ProfiledDeviance

# A template row whose diagonal is below this fraction of the rest is at (or near) a
# correlation bound: |ρ| > 0.99995 with the span of the earlier coefficients.  A gradient
# method stops a little short of a bound it approaches, so the test is a loose one.
BOUND_TOL = 1e-2


class SigmaRule(Protocol):
    """σ as a function of the free parameters x, and its gradient (shape of x)."""

    def __call__(self, x: np.ndarray) -> float: ...

    def gradient(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class FixedSigma:
    """σ held at `value`."""

    value: float

    def __call__(self, x: np.ndarray) -> float:
        return self.value

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)


@dataclass(frozen=True)
class SigmaOfSD:
    """σ = sd / x_j: the standard deviation σ x_j held at `sd` (x_j > 0 the first diagonal
    entry of a reordered template)."""

    sd: float
    j: int

    def __call__(self, x: np.ndarray) -> float:
        return self.sd / float(x[self.j])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        g = np.zeros_like(x)
        g[self.j] = -self.sd / float(x[self.j]) ** 2
        return g


@dataclass(frozen=True)
class Restricted:
    """x ↦ the ML deviance at θ = E x and σ = sigma(x), or profiled over σ when sigma is None.

    Satisfies `mixedfx.optimize.Differentiable`, so `minimize_theta` (L-BFGS-B with the exact
    gradient, BOBYQA as fallback, restarts off flat bounds) minimizes it.

    Attributes
    ----------
    objective
        The ML deviance of the (possibly reordered or offset) model, θ ↦ d.
    E
        Shape (nθ, nx): θ as a linear function of the free parameters.
    lower
        Shape (nx,): their lower bounds.
    sigma
        σ's rule, or None to profile σ out.
    """

    objective: ProfiledDeviance
    E: np.ndarray
    lower: np.ndarray
    sigma: SigmaRule | None

    @property
    def blas_threads(self) -> int | None:
        return self.objective.blas_threads

    def theta(self, x: np.ndarray) -> np.ndarray:
        """θ at x; shape (nθ,)."""
        return self.E @ x

    def __call__(self, x: np.ndarray) -> float:
        if self.sigma is None:
            return self.objective(self.E @ x)
        sigma = self.sigma(x)
        chol = self.objective.factor(self.E @ x)
        if chol is None or not sigma > 0:
            return np.inf
        return self.objective.at(chol, sigma)

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        theta = self.E @ x
        if self.sigma is None:
            value, gradient = self.objective.value_and_gradient(theta)
            return value, self.E.T @ gradient
        sigma = self.sigma(x)
        if not sigma > 0:
            return np.inf, np.full(x.size, np.nan)
        value, gradient, d_sigma = self.objective.value_and_gradients_at(theta, sigma)
        return value, self.E.T @ gradient + d_sigma * self.sigma.gradient(x)

    def scale(self, x: np.ndarray) -> np.ndarray:
        """Shape (nx,): the natural size of each free parameter, from θ's
        (`ProfiledDeviance.scale`) through θ = E x: where θ_i = E_ij x_j, x_j's unit is
        θ_i's divided by |E_ij|, the smallest over the θ entries it moves."""
        s = self.objective.scale(self.E @ x)
        E = np.abs(self.E)
        units = np.min(np.where(E > 0, s[:, None] / np.where(E > 0, E, 1.0), np.inf), axis=0)
        return np.where(np.isfinite(units), units, 1.0)

    def flat_bounds(self, x: np.ndarray) -> np.ndarray:
        """Free parameters at their bound that set a θ entry at a flat bound (`ThetaLayout`)."""
        flat = self.objective.flat_bounds(self.E @ x).astype(float)
        return (self.E.T @ flat > 0) & (x <= self.lower)

    def sigma_at(self, x: np.ndarray) -> float:
        """σ at x: by the rule, or σ̂(θ) = sqrt(r²/n) when profiled."""
        if self.sigma is not None:
            return self.sigma(x)
        factor = self.objective.factor(self.E @ x)
        return np.nan if factor is None else float(np.sqrt(factor.pwrss / factor.n))


def reordered_cross_products(A: CrossProducts, term: int, order: np.ndarray) -> CrossProducts:
    """A of the same model with term `term`'s coefficients in `order` (within every level).

    Parameters
    ----------
    A
        The model's cross-products (not modified).
    term
        Which term to reorder (model order).
    order
        Shape (k,): the new order of its coefficients, a permutation of 0..k−1.
    """
    structure = A.structure
    k = structure.ks[term]
    columns = (np.arange(structure.nlevels[term])[:, None] * k + order[None, :]).ravel()
    if term == 0:
        A11 = A.A11[:, order][:, :, order]
        return replace(A, A11=A11, B=off_diagonal(A.B.matrix[:, columns], k))
    start = structure.rest_slices[term - 1].start
    rows = np.arange(A.r)
    rows[start : start + columns.size] = start + columns
    R = A.R[np.ix_(rows, rows)]
    return replace(A, R=R, B=off_diagonal(A.B.matrix[rows], A.A11.shape[1]))


def reordered_theta(
    theta: np.ndarray, layout: ThetaLayout, term: int, order: np.ndarray
) -> np.ndarray:
    """θ of the model with term `term`'s coefficients in `order`: the same covariances.

    With P the permutation, the new template T' is lower triangular with
    T'T'ᵀ = P T Tᵀ Pᵀ: from (P T)ᵀ = Q R, T' = Rᵀ with column signs making its diagonal
    non-negative.  Unlike a Cholesky factorization, this holds for a singular T Tᵀ too.
    """
    templates = layout.templates(theta)
    R = np.linalg.qr(templates[term][order].T).R
    templates[term] = R.T * np.where(np.diag(R) < 0, -1.0, 1.0)
    return layout.flatten(templates)


def at_correlation_bound(theta: np.ndarray, layout: ThetaLayout) -> bool:
    """Whether some template row j ≥ 1 has a (nearly) zero diagonal entry while the rest is
    not zero: coefficient j perfectly correlated with the earlier ones."""
    for T in layout.templates(theta):
        for j in range(1, T.shape[0]):
            if abs(T[j, j]) <= BOUND_TOL * np.linalg.norm(T[j, :j]) and np.any(T[j, :j]):
                return True
    return False


def correlation_restarts(theta: np.ndarray, layout: ThetaLayout) -> list[np.ndarray]:
    """θ with one template row j ≥ 1 moved along the sphere of its length (the SD kept): to
    either correlation bound (all of its length along its off-diagonal direction, or against
    it) and half way between (the off-diagonal part and the diagonal entry of equal size).
    The off-diagonal direction of a row without one is the first coefficient's.
    """
    out = []
    templates = layout.templates(theta)
    for t, T in enumerate(templates):
        for j in range(1, T.shape[0]):
            length = float(np.linalg.norm(T[j, : j + 1]))
            if length == 0:
                continue
            part = T[j, :j]
            direction = part / np.linalg.norm(part) if np.any(part) else np.eye(j)[0]
            for row, diagonal in (
                (length * direction, 0.0),
                (-length * direction, 0.0),
                (length / np.sqrt(2.0) * direction, length / np.sqrt(2.0)),
            ):
                changed = [M.copy() for M in templates]
                changed[t][j, :j], changed[t][j, j] = row, diagonal
                out.append(layout.flatten(changed))
    return out


def offset_cross_products(A: CrossProducts, j: int, value: float) -> CrossProducts:
    """A for the response y − x_j·value and X without column j (no pass over the rows).

    With W = [Z_rest X y], the new y column is y − value·x_j, so every block is updated by
    linear combinations of the x_j and y rows and columns, then x_j is dropped.
    """
    q, p = A.q_rest, A.p
    xj, y = q + j, q + p
    T = np.eye(A.r)
    T[xj, y] = -value  # new y = y − value x_j
    keep = [c for c in range(A.r) if c != xj]
    R = (T.T @ A.R @ T)[np.ix_(keep, keep)]
    B = sp.csr_matrix(T.T[keep]) @ A.B.matrix
    return replace(
        A,
        B=off_diagonal(B, A.A11.shape[1]),
        R=R,
        structure=A.structure.without_fixed_column(),
        sums=np.delete(A.sums, j),
    )
