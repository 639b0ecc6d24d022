"""R² for linear mixed models (Nakagawa & Schielzeth 2013; Johnson 2014 for random slopes).

    marginal R²    = σ²_f / (σ²_f + σ²_r + σ²)
    conditional R² = (σ²_f + σ²_r) / (σ²_f + σ²_r + σ²)

σ²_f is the variance of the fixed-effects predictions Xβ̂ (with n − 1, as R's ``var``);
σ²_r sums over terms the mean over rows of z_iᵀ Σ_j z_i, which for a random intercept is
its variance and for random slopes weights the covariance by the covariates (Johnson 2014).
Both come from the cross-products: Σ_i (x_iᵀβ)² = βᵀXᵀXβ, Σ_i x_iᵀβ = (1ᵀX)β and
Σ_i z_iᵀΣz_i = tr(Σ Σ_i z_i z_iᵀ).  For a weighted fit these sums are over the rows without
their weights (`MixedFit.unweighted_A`), with σ² the residual variance at weight 1, as
performance's ``r2_nakagawa`` computes them; with a residual SD per stratum (or per row), σ² is
the mean of the rows' residual variances.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mixedfx.inference.protocol import MixedFit


class MixedR2(NamedTuple):
    """Variance explained by the fixed effects alone, and with the random effects."""

    marginal: float
    conditional: float


def nakagawa_r2(fit: MixedFit) -> MixedR2:
    """Marginal and conditional R² of a linear mixed model."""
    A, beta, n = fit.unweighted_A, fit.fixef.to_numpy(), fit.nobs
    total_f = float(A.sums @ beta)
    var_f = max(float(beta @ A.XtX @ beta) - total_f**2 / n, 0.0) / (n - 1)
    var_r = sum(float(np.sum(cov * A.term_gram(j))) / n for j, cov in enumerate(fit.covariances))
    total = var_f + var_r + fit.residual_variance
    return MixedR2(var_f / total, (var_f + var_r) / total)
