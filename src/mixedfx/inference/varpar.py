"""The fit as a function of its variance parameters varpar = (θ, σ), for inference on β.

lmerTest (Kuznetsova et al. 2017, JSS 82(13), §3) writes the deviance, not profiled over σ,

    d(θ, σ) = log|L_Z|² + r²(θ)/σ² + n log(2πσ²)                       (ML)
    d(θ, σ) = log|L_Z|² + log|L_X|² + r²(θ)/σ² + (n − p) log(2πσ²)    (REML)

and vcov(β̂) = σ² C(θ)⁻¹, C = L_X L_Xᵀ = Xᵀ Ṽ⁻¹ X with Ṽ = I + ZΛΛᵀZᵀ.  The asymptotic
covariance of varpar is 2 H⁻¹, H the Hessian of d at the optimum (`derivatives`).  The
derivatives of vcov(β̂) are analytic: dṼ⁻¹ = −Ṽ⁻¹ Z d(ΛΛᵀ) Zᵀ Ṽ⁻¹, so with F = Zᵀ Ṽ⁻¹ X
(q × p, `mixedfx.pls.marginal`) and G = F C⁻¹,

    ∂vcov/∂θ_i = σ² Gᵀ (∂ΛΛᵀ/∂θ_i) G,   ∂vcov/∂σ = 2σ C⁻¹,

where ∂ΛΛᵀ/∂θ_i is block diagonal: e_r t_cᵀ + t_c e_rᵀ per level, for the entry at (r, c) of
a template T with columns t_c.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mixedfx.inference.derivatives import varpar_hessian
from mixedfx.inference.protocol import MixedFit
from mixedfx.pls.deviance import ProfiledDeviance
from mixedfx.pls.marginal import MarginalProducts, term_blocks


@dataclass(frozen=True)
class VarianceParameters:
    """Derivatives of the deviance and of vcov(β̂) with respect to varpar = (θ, σ).

    Attributes
    ----------
    fit
        The fitted model.
    """

    fit: MixedFit

    @cached_property
    def objective(self) -> ProfiledDeviance:
        """The fit's criterion as a function of θ (its evaluations are counted)."""
        return self.fit.deviance_function()

    @cached_property
    def _marginal(self) -> MarginalProducts:
        return MarginalProducts(self.fit.A, self.fit.chol)

    @property
    def varpar(self) -> np.ndarray:
        """(θ̂, σ̂), shape (nθ + 1,)."""
        return np.append(self.fit.theta, self.fit.sigma)

    @cached_property
    def units(self) -> np.ndarray:
        """The natural size of each varpar entry (`ProfiledDeviance.scale`; σ's is 1)."""
        return np.append(self.objective.scale(self.fit.theta), 1.0)

    @property
    def vcov(self) -> np.ndarray:
        """vcov(β̂) = σ̂² C⁻¹ (the estimate's), shape (p, p)."""
        return self.fit.vcov.to_numpy()

    @cached_property
    def hessian(self) -> np.ndarray:
        """The Hessian of d(θ, σ) at (θ̂, σ̂), shape (nθ + 1, nθ + 1) (`varpar_hessian`)."""
        fit = self.fit
        return varpar_hessian(self.objective, fit.theta, fit.sigma, fit.chol.pwrss, self.units[:-1])

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
        return asymptotic_covariance(self.hessian, self.units)

    @cached_property
    def vcov_gradient(self) -> np.ndarray:
        """∂vcov(β̂)/∂varpar_i, shape (nθ + 1, p, p) (module notes)."""
        fit, structure = self.fit, self.fit.A.structure
        C_inverse = self.vcov / fit.sigma**2
        G = self._marginal.zx @ C_inverse
        per_term = []
        for j, T in enumerate(fit.chol.templates):
            Gj = term_blocks(G, structure, j)  # (ℓ, k, p)
            X = np.einsum("grp,gcq->rcpq", Gj, T.T @ Gj)  # Σ_g G_g[r] ⊗ (Tᵀ G_g)[c]
            per_term.append(X + np.swapaxes(X, 2, 3))
        d_theta = fit.sigma**2 * fit.layout.flatten(per_term)
        d_sigma = 2.0 * fit.sigma * C_inverse
        return np.concatenate([d_theta.reshape(-1, *d_sigma.shape), d_sigma[None]])


def asymptotic_covariance(hessian: np.ndarray, units: np.ndarray) -> np.ndarray:
    """2 H⁻¹ on the eigenvalues of S H S above 1e-8, S = diag(`units`), shape as `hessian`
    (`VarianceParameters.covariance` gives the reasons)."""
    values, vectors = np.linalg.eigh(units[:, None] * hessian * units[None, :])
    keep = values > 1e-8
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    return 2.0 * units[:, None] * inverse * units[None, :]
