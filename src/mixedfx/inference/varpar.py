"""The fit as a function of its variance parameters varpar = (θ, σ), for inference on β.

lmerTest (Kuznetsova et al. 2017, JSS 82(13), §3) writes the deviance, not profiled over σ,

    d(θ, σ) = log|L_Z|² + r²(θ)/σ² + n log(2πσ²)                       (ML)
    d(θ, σ) = log|L_Z|² + log|L_X|² + r²(θ)/σ² + (n − p) log(2πσ²)    (REML)

and vcov(β̂) = σ² (L_X L_Xᵀ)⁻¹(θ).  The asymptotic covariance of varpar is 2 H⁻¹, H the
Hessian of d at the optimum.  Both come from the same blocked factor the fit used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mixedfx.inference.derivatives import hessian, jacobian
from mixedfx.models.lmm import LinearMixedModel
from mixedfx.pls.cholesky import BlockedCholesky, beta_covariance
from mixedfx.pls.criterion import ML
from mixedfx.pls.deviance import ProfiledDeviance


@dataclass(frozen=True)
class VarianceParameters:
    """Derivatives of the deviance and of vcov(β̂) with respect to varpar = (θ, σ).

    Attributes
    ----------
    fit
        The fitted model.
    """

    fit: LinearMixedModel

    @cached_property
    def _objective(self) -> ProfiledDeviance:
        return self.fit.deviance_function(criterion=ML())

    @property
    def varpar(self) -> np.ndarray:
        """(θ̂, σ̂), shape (nθ + 1,)."""
        return np.append(self.fit.theta, self.fit.sigma)

    @cached_property
    def units(self) -> np.ndarray:
        """The natural size of each varpar entry (`ProfiledDeviance.scale`; σ's is 1): where
        an entry is zero, finite differences step by a fraction of it."""
        return np.append(self._objective.scale(self.fit.theta), 1.0)

    def _factor(self, theta: np.ndarray) -> BlockedCholesky:
        factor = self._objective.factor(theta)
        if factor is None:
            raise FloatingPointError(f"the model cannot be evaluated at θ = {theta}")
        return factor

    def deviance(self, varpar: np.ndarray) -> float:
        """d(θ, σ), lmerTest's ``devfun_vp``."""
        return self.fit.criterion.at(self._factor(varpar[:-1]), sigma=float(varpar[-1]))

    def vcov(self, varpar: np.ndarray) -> np.ndarray:
        """vcov(β̂) at (θ, σ): σ² (L_X L_Xᵀ)⁻¹, shape (p, p)."""
        return beta_covariance(self._factor(varpar[:-1]), float(varpar[-1]))

    @cached_property
    def covariance(self) -> np.ndarray:
        """Asymptotic covariance of varpar, A = 2 H⁻¹.

        As lmerTest, H is inverted on its eigenvalues above 1e-8 only, so a flat direction
        (a variance on its boundary) drops out instead of blowing up.  The eigenvalues are
        those of S H S, S = diag(`units`): H in the parameters' natural units, where the rule
        means the same for a covariate in any units (for θ of order one, S is near I and the
        rule lmerTest's), and where the eigenvectors of a slope on a covariate of size 1e12
        are not lost to rounding beside its Hessian entries of 1e24.
        """
        S = self.units
        H = hessian(self.deviance, self.varpar, S)
        values, vectors = np.linalg.eigh(S[:, None] * H * S[None, :])
        keep = values > 1e-8
        inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
        return 2.0 * S[:, None] * inverse * S[None, :]

    @cached_property
    def vcov_gradient(self) -> np.ndarray:
        """∂vcov(β̂)/∂varpar_i, shape (nθ + 1, p, p)."""
        return jacobian(self.vcov, self.varpar, self.units)
