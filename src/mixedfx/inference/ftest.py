"""Tests of linear hypotheses Lβ = 0 on a mixed model, with a choice of denominator df.

    F = (Lβ̂)ᵀ (L C Lᵀ)⁻¹ (Lβ̂) / q,   q = rank(L),

C = vcov(β̂), or for Kenward–Roger the adjusted covariance and a scaled statistic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mixedfx.distributions import chi2_sf, f_sf
from mixedfx.inference.contrast_test import ContrastTest
from mixedfx.inference.protocol import MixedFit
from mixedfx.inference.satterthwaite import f_denominator_df, satterthwaite_df

DDF = Literal["satterthwaite", "kenward-roger", "residual"] | None
DDF_METHODS = ("satterthwaite", "kenward-roger", "residual", None)


def check_ddf(ddf: object) -> None:
    if ddf not in DDF_METHODS:
        raise ValueError(f"ddf must be one of {DDF_METHODS}, got {ddf!r}")


def contrast_test(fit: MixedFit, L: np.ndarray, ddf: DDF) -> ContrastTest:
    """Test Lβ = 0 for L of shape (q, p) (or (p,) for one contrast)."""
    check_ddf(ddf)
    L = np.atleast_2d(np.asarray(L, dtype=float))
    beta = fit.fixef.to_numpy()
    if ddf == "kenward-roger":
        from mixedfx.inference.kenward_roger import kenward_roger_test

        return kenward_roger_test(fit, L)
    C = fit.vcov.to_numpy()
    d, P = np.linalg.eigh(L @ C @ L.T)
    keep = d > 1e-10 * max(float(d.max()), 0.0)
    d, PtL = d[keep], (P[:, keep].T @ L)
    q = int(keep.sum())
    f_value = float(np.sum((PtL @ beta) ** 2 / d) / q)
    den = _denominator(fit, PtL, ddf)
    p_value = float(f_sf(f_value, q, den)) if np.isfinite(den) else float(chi2_sf(f_value * q, q))
    return ContrastTest(q, den, f_value, p_value)


def _denominator(fit: MixedFit, PtL: np.ndarray, ddf: DDF) -> float:
    if ddf is None:
        return np.inf
    if ddf == "residual":
        return float(fit.nobs - fit.A.p)
    vp = fit.variance_parameters
    nu = np.array([satterthwaite_df(vp, row) for row in PtL])
    return f_denominator_df(nu)
