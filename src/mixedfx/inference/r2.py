"""R² for linear mixed models (Nakagawa & Schielzeth 2013; Johnson 2014 for random slopes).

    marginal R²    = σ²_f / (σ²_f + σ²_r + σ²)
    conditional R² = (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²)

σ²_f is the variance of the fixed-effects predictions Xβ̂ (with n − 1, as R's ``var``);
σ²_r sums over terms the mean over rows of z_iᵀ Σ_j z_i, which for a random intercept is
its variance and for random slopes weights the covariance by the covariates (Johnson 2014).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mixedfx.models.lmm import LinearMixedModel


class MixedR2(NamedTuple):
    """Variance explained by the fixed effects alone, and with the random effects."""

    marginal: float
    conditional: float


def nakagawa_r2(fit: LinearMixedModel) -> MixedR2:
    """Marginal and conditional R² of a linear mixed model."""
    fixed = fit.design.fixed.X @ fit.fixef.to_numpy()
    var_f = float(np.var(fixed, ddof=1))
    var_r = sum(
        float(np.mean(np.einsum("ia,ab,ib->i", term.z, cov, term.z)))
        for term, cov in zip(fit.design.terms, fit.covariances)
    )
    total = var_f + var_r + fit.sigma**2
    return MixedR2(var_f / total, (var_f + var_r) / total)
