"""What a linear mixed model's fit minimizes: the ML deviance or the REML criterion.

Both are −2 × a log-likelihood profiled over β (and, unless σ is given, over σ), read off
the blocked Cholesky factor L of the penalized system (Bates et al. 2015, JSS 67(1), eq.
34 and 41).  They differ in two places: which leading columns of [Z X y] contribute their
log-determinant (Z's for ML; Z's and X's for REML), and the residual degrees of freedom ν
(n for ML, n − p for REML).  A criterion is a type, not a flag, so that the code that
evaluates, differentiates and reports it asks the criterion instead of branching.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mixedfx.pls.cholesky import BlockedCholesky

LOG_2PI = float(np.log(2.0 * np.pi))


class Criterion(ABC):
    """−2 log L of a linear mixed model, profiled over β, as a function of the factor L."""

    name: str

    @abstractmethod
    def dof(self, n: int, p: int) -> int:
        """ν: the residual degrees of freedom σ̂² = r²/ν divides by."""

    @abstractmethod
    def determinant_columns(self, q: int, p: int) -> int:
        """How many leading columns of [Z X y] contribute log L_ii² to the criterion."""

    def logdet(self, chol: BlockedCholesky) -> float:
        """The criterion's log-determinant at a factor."""
        rest = self.determinant_columns(chol.q_rest, chol.p)
        return chol.logdet_first + 2.0 * float(np.log(np.diag(chol.Lrest)[:rest]).sum())

    def value(self, logdet: float, pwrss: float, n: int, p: int, sigma: float | None) -> float:
        """logdet + ν (1 + log(2π r²/ν)) profiled over σ, or logdet + r²/σ² + ν log(2πσ²)
        at a given σ (likelihood profiles of σ hold it fixed)."""
        nu = self.dof(n, p)
        if sigma is None:
            return logdet + nu * (1.0 + LOG_2PI + np.log(pwrss / nu))
        return logdet + pwrss / sigma**2 + nu * (LOG_2PI + 2.0 * np.log(sigma))

    def at(self, chol: BlockedCholesky, sigma: float | None = None) -> float:
        """The criterion at a factor, profiled over σ or at `sigma`."""
        return self.value(self.logdet(chol), chol.pwrss, chol.n, chol.p, sigma)

    def pwrss_weight(self, pwrss: float, n: int, p: int, sigma: float | None) -> float:
        """∂d/∂r²: ν/r² when profiled over σ, else 1/σ²."""
        return self.dof(n, p) / pwrss if sigma is None else 1.0 / sigma**2

    def sigma(self, pwrss: float, n: int, p: int) -> float:
        """σ̂ = sqrt(r²/ν), the residual standard deviation at the optimum over σ."""
        return float(np.sqrt(pwrss / self.dof(n, p)))

    def sigma_gradient(self, pwrss: float, n: int, p: int, sigma: float) -> float:
        """∂d/∂σ at a given σ: 2(ν − r²/σ²)/σ."""
        return 2.0 * (self.dof(n, p) - pwrss / sigma**2) / sigma


@dataclass(frozen=True)
class ML(Criterion):
    """The deviance −2 log L, maximum likelihood."""

    name = "ML"

    def dof(self, n: int, p: int) -> int:
        return n

    def determinant_columns(self, q: int, p: int) -> int:
        return q


@dataclass(frozen=True)
class REML(Criterion):
    """The REML criterion: −2 × the log-likelihood of the residual contrasts, which adds
    log|L_X|² and leaves ν = n − p (Bates et al. 2015, eq. 41)."""

    name = "REML"

    def dof(self, n: int, p: int) -> int:
        return n - p

    def determinant_columns(self, q: int, p: int) -> int:
        return q + p


def criterion_of(reml: bool) -> Criterion:
    """The criterion a user's ``reml=`` option names."""
    return REML() if reml else ML()
