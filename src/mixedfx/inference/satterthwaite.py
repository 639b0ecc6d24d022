"""Satterthwaite's denominator degrees of freedom for t and F tests of fixed effects.

For a contrast vector l (Kuznetsova et al. 2017, JSS 82(13), eq. 5):

    ν = 2 (l C lᵀ)² / (gᵀ A g),   g_i = l (∂C/∂varpar_i) lᵀ,

C = vcov(β̂) and A the asymptotic covariance of varpar.  For a q-row contrast matrix L the
F statistic's denominator df follow from the eigen-decomposition of L C Lᵀ (lmerTest's
``contestMD``): one ν_m per eigen-direction, then E = Σ ν_m/(ν_m − 2), ν = 2E/(E − q).
"""

from __future__ import annotations

import numpy as np

from mixedfx.inference.protocol import VarianceDerivatives


def satterthwaite_df(vp: VarianceDerivatives, contrast: np.ndarray) -> float:
    """Degrees of freedom of the t statistic of l β̂ for the contrast l of shape (p,)."""
    variance = float(contrast @ vp.vcov @ contrast)
    g = np.einsum("a,iab,b->i", contrast, vp.vcov_gradient, contrast)
    denominator = float(g @ vp.covariance @ g)
    return 2.0 * variance**2 / denominator if denominator > 0 else np.inf


def f_denominator_df(nu: np.ndarray) -> float:
    """Combine the per-direction df ν_m of a q-df test into one (lmerTest's rule)."""
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - nu.size)
