"""θ ↔ Λ ↔ variances, standard deviations and correlations: the one place that converts.

Term j with k_j coefficients has a k_j × k_j lower-triangular template T_j; θ holds the
templates' lower triangles column by column, terms in model order (lme4's layout).
The relative covariance of term j is T_j T_jᵀ, so its covariance is σ² T_j T_jᵀ.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@functools.cache
def lower_triangle(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a k × k lower triangle, column by column (read-only arrays): the
    row-major upper triangle of the transpose.  Cached, as every evaluation asks for the
    same few k."""
    cols, rows = np.triu_indices(k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols

# lme4's isSingular tolerance on the template diagonals
SINGULAR_TOL = 1e-4


@dataclass(frozen=True)
class ThetaLayout:
    """Where each term's template lives in θ.

    Attributes
    ----------
    ks
        The number of coefficients of each random-effects term, in model order.
    """

    ks: tuple[int, ...]

    @staticmethod
    @functools.cache
    def of(ks: tuple[int, ...]) -> ThetaLayout:
        """The layout of these terms, one shared instance per `ks`: it is immutable, and its
        positions, computed on first use, then serve every objective of the model."""
        return ThetaLayout(ks)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        sizes = [k * (k + 1) // 2 for k in self.ks]
        return tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)]))

    @property
    def size(self) -> int:
        return self.offsets[-1]

    @cached_property
    def is_diagonal(self) -> np.ndarray:
        """Shape (size,), bool: which θ entries are template diagonals (variances)."""
        flags = [(r == c) for k in self.ks for c in range(k) for r in range(c, k)]
        return np.array(flags, dtype=bool)

    def on_boundary(self, theta: np.ndarray) -> bool:
        """Whether some template diagonal of θ is below `SINGULAR_TOL`: a variance at (or
        near) zero (lme4's isSingular)."""
        return bool(np.any(theta[self.is_diagonal] < SINGULAR_TOL))

    def lower_bounds(self) -> np.ndarray:
        """0 for diagonal entries (a standard deviation is non-negative), -inf elsewhere."""
        return np.where(self.is_diagonal, 0.0, -np.inf)

    def initial(self) -> np.ndarray:
        """lme4's starting point: identity templates."""
        return self.is_diagonal.astype(float)

    @cached_property
    def positions(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Row and column of each θ entry in its template (`lower_triangle`)."""
        return [lower_triangle(k) for k in self.ks]

    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lower-triangular templates T_j (each k_j × k_j) from θ."""
        out = []
        for j, k in enumerate(self.ks):
            T = np.zeros((k, k))
            T[self.positions[j]] = theta[self.offsets[j] : self.offsets[j + 1]]
            out.append(T)
        return out

    def flat_bounds(self, theta: np.ndarray) -> np.ndarray:
        """Shape (size,), bool: the diagonal entries whose whole template column is zero.

        Flipping the sign of a template column leaves T Tᵀ unchanged, so the profiled deviance
        is even in such an entry: its derivative there is zero whether the bound is a minimum
        or a maximum along it, and a gradient method cannot tell which.
        """
        flags = []
        for j, T in enumerate(self.templates(theta)):
            rows, cols = self.positions[j]
            empty = ~np.any(T != 0, axis=0)
            flags.append((rows == cols) & empty[cols])
        return np.concatenate(flags)

    def row_norms(self, theta: np.ndarray) -> np.ndarray:
        """Shape (size,): for each entry, the norm of its template row, ‖T[r, :]‖.

        Row r of T holds the relative standard deviation of coefficient r (σ_r / σ) in the
        units of its covariate: multiplying the covariate by c divides the row by c.
        """
        out = [
            np.linalg.norm(T, axis=1)[self.positions[j][0]]
            for j, T in enumerate(self.templates(theta))
        ]
        return np.concatenate(out) if out else np.zeros(0)

    def flatten(self, matrices: list[np.ndarray]) -> np.ndarray:
        """θ's entries of one k_j × k_j matrix per term: the inverse of `templates`, and the
        map that turns a gradient with respect to the templates into one with respect to θ."""
        return np.concatenate(
            [M[self.positions[j]] for j, M in enumerate(matrices)] or [np.zeros(0)]
        )

    def covariances(self, theta: np.ndarray, sigma: float) -> list[np.ndarray]:
        """The covariance matrices σ² T_j T_jᵀ (each k_j × k_j)."""
        return [sigma**2 * (T @ T.T) for T in self.templates(theta)]


def sd_and_corr(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations (k,) and correlation matrix (k, k) of a covariance matrix.

    A zero standard deviation gives correlations of NaN, as in lme4.
    """
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return sd, corr


def sdcor_vector(covariances: list[np.ndarray], sigma: float) -> np.ndarray:
    """lme4's profile scale as one vector: per term the standard deviations, then the
    correlations (lower triangle, column by column; NaN where a variance is 0), σ last."""
    out: list[float] = []
    for cov in covariances:
        sd, corr = sd_and_corr(cov)
        k = cov.shape[0]
        out += [*sd, *(corr[a, b] for b in range(k) for a in range(b + 1, k))]
    return np.array([*out, sigma])
