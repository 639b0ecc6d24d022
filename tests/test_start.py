"""Moment-based starting values: close to the optimum, and never worse optima than lme4's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.pls.start import SMALLEST, moment_start

from conftest import case, case_frame, lmer_cases


@pytest.mark.parametrize("name", lmer_cases())
def test_start_is_near_and_the_optimum_is_r_s(name: str) -> None:
    ref = case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(ref["formula"], case_frame(ref), reml=ref["reml"])
    start = moment_start(fit.A)
    diagonal = fit.layout.is_diagonal
    # within a factor of 3 of θ̂ for every standard deviation that is not on its boundary
    clear = fit.theta[diagonal] > 0.05
    ratio = start[diagonal][clear] / fit.theta[diagonal][clear]
    assert np.all((ratio > 1 / 3) & (ratio < 3)), (start, fit.theta)
    assert np.all(start[~diagonal] == 0.0)
    assert fit.objective <= ref["objective"] + 1e-6


def moment_equation(y: np.ndarray, X: np.ndarray, Z: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The start's documented moment estimate for one term, computed from the rows: OLS
    residuals r, SSB_a = Σ_g (Σ_{i∈g} z_ia r_i)² / Σ_{i∈g} z_ia², σ² from the intercept's
    within-group sum of squares on n − p − ℓ df, and σ_a²/σ² = (SSB_a − ℓσ²) / (σ² Σ z_a²),
    floored at SMALLEST² n / Σ z_a².  Returns the template's diagonal σ_a/σ, shape (k,)."""
    r = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    frame = pd.DataFrame(Z * r[:, None]).groupby(groups).sum()
    ztz = pd.DataFrame(Z**2).groupby(groups).sum()
    ssb = (frame**2 / ztz).sum().to_numpy()
    n, p, ell = len(y), X.shape[1], len(frame)
    sigma2 = (r @ r - ssb[0]) / (n - p - ell)
    total = ztz.sum().to_numpy()
    return np.sqrt(np.maximum((ssb - ell * sigma2) / total / sigma2, SMALLEST**2 * n / total))


@pytest.mark.parametrize(
    ("data", "formula", "response", "covariate", "group"),
    [
        ("Dyestuff", "Yield ~ 1 + (1 | Batch)", "Yield", None, "Batch"),
        ("sleepstudy", "Reaction ~ Days + (Days | Subject)", "Reaction", "Days", "Subject"),
    ],
)
def test_one_term_start_is_the_moment_estimate(
    data: str, formula: str, response: str, covariate: str | None, group: str
) -> None:
    """The start from A equals the moment equation evaluated on the rows, to rounding.  (It is
    not the classical ANOVA estimator, which has E[SSB] = (ℓ − 1)(σ² + mσ_b²) in a balanced
    layout: on Dyestuff 0.731 against 0.848, which the REML optimum attains.)"""
    frame = mfx.datasets.load(data)
    fit = mfx.lmer(formula, frame)
    y = frame[response].to_numpy(dtype=float)
    columns = [np.ones(len(y))] + ([frame[covariate].to_numpy(dtype=float)] if covariate else [])
    X = Z = np.column_stack(columns)
    diagonal = moment_equation(y, X, Z, frame[group].to_numpy())
    start = moment_start(fit.A)
    np.testing.assert_allclose(start[fit.layout.is_diagonal], diagonal, rtol=1e-10)
    assert np.all(start[~fit.layout.is_diagonal] == 0.0)
