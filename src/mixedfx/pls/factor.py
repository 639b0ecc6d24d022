"""The blocked Cholesky factor of the penalized system at one θ, and the block scaling by Λ.

See `mixedfx.pls.deviance` for how it is computed; `solution` and `gradient` read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


def profiled_criterion(logdet: float, pwrss: float, nu: int) -> float:
    """logdet + ν (1 + log(2π r²/ν)): −2 × the profiled log-likelihood.

    For ML, logdet = log|L_Z|² and ν = n; for REML, logdet = log|L_Z|² + log|L_X|² and
    ν = n − p.  r² is the penalized residual sum of squares.
    """
    return logdet + nu * (1.0 + LOG_2PI + np.log(pwrss / nu))


def criterion_at_sigma(logdet: float, pwrss: float, nu: int, sigma: float) -> float:
    """logdet + r²/σ² + ν log(2πσ²): −2 × the log-likelihood at a given σ, not profiled.

    Minimized over σ (σ² = r²/ν) it is `profiled_criterion`; likelihood profiles of σ and of
    the standard deviations σ‖T_a‖ hold σ, or σ's relation to θ, fixed instead.
    """
    return logdet + pwrss / sigma**2 + nu * (LOG_2PI + 2.0 * np.log(sigma))


def pwrss_weight(pwrss: float, nu: int, sigma: float | None) -> float:
    """∂d/∂r² of the criterion: ν/r² when profiled over σ (σ None), else 1/σ²."""
    return nu / pwrss if sigma is None else 1.0 / sigma**2


@dataclass(frozen=True)
class Factor:
    """The blocked Cholesky factor at one θ.

    Attributes
    ----------
    theta
        The θ it was computed at.
    templates
        The templates T_j (k_j × k_j), model term order.
    L11
        Shape (ℓ₁, k₁, k₁): factors of the first term's diagonal blocks.
    Lrest
        Shape (r, r): lower factor of M (its strict upper triangle is not meaningful).
    q_rest, p, n
        Block sizes.
    """

    theta: np.ndarray
    templates: list[np.ndarray]
    L11: np.ndarray
    Lrest: np.ndarray
    q_rest: int
    p: int
    n: int

    @property
    def logdet_Z(self) -> float:
        """log |L_Z|²: log-determinant of ΛᵀZᵀZΛ + I."""
        d1 = np.diagonal(self.L11, axis1=1, axis2=2)
        d2 = np.diag(self.Lrest)[: self.q_rest]
        return 2.0 * float(np.log(d1).sum() + np.log(d2).sum())

    @property
    def logdet_X(self) -> float:
        """log |L_X|²: the REML correction."""
        dx = np.diag(self.Lrest)[self.q_rest : self.q_rest + self.p]
        return 2.0 * float(np.log(dx).sum())

    @property
    def pwrss(self) -> float:
        """Penalized weighted residual sum of squares r² = ‖y − Xβ − ZΛu‖² + ‖u‖²."""
        return float(self.Lrest[-1, -1] ** 2)

    def criterion(self, reml: bool, sigma: float | None = None) -> float:
        """The REML criterion or the ML deviance at this factor: profiled over σ
        (`profiled_criterion`), or at `sigma` (`criterion_at_sigma`)."""
        logdet, nu = self.logdet_and_dof(reml)
        if sigma is None:
            return profiled_criterion(logdet, self.pwrss, nu)
        return criterion_at_sigma(logdet, self.pwrss, nu, sigma)

    def logdet_and_dof(self, reml: bool) -> tuple[float, int]:
        """The criterion's log-determinant and ν: log|L_Z|² and n (ML), or
        log|L_Z|² + log|L_X|² and n − p (REML)."""
        if reml:
            return self.logdet_Z + self.logdet_X, self.n - self.p
        return self.logdet_Z, self.n


def scale_rows(M: np.ndarray, rows: slice, T: np.ndarray) -> None:
    """In place: M[rows] ← blockdiag(Tᵀ) · M[rows], one k × k block per level."""
    k = T.shape[0]
    block = M[rows]
    if k == 1:
        block *= T[0, 0]
        return
    stacked = block.reshape(-1, k, block.shape[1])
    block[...] = np.einsum("ba,gbc->gac", T, stacked).reshape(block.shape)


def mirror_diagonal_blocks(M: np.ndarray, rows: slice, k: int) -> None:
    """In place: the upper triangle of each k × k diagonal block of M[rows, rows] ← its lower.

    `scale_rows` mixes the rows of a block, so it reads the block's upper triangle, which a
    Schur update that keeps only the lower triangle (`OffDiagonal.subtract_schur`) leaves stale.
    """
    start = rows.start or 0
    levels = (rows.stop - start) // k
    base = start + k * np.arange(levels)
    for a in range(k):
        for b in range(a):
            M[base + b, base + a] = M[base + a, base + b]
