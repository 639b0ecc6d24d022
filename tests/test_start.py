"""Moment-based starting values: close to the optimum, and never worse optima than lme4's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mixedfx as mfx
from mixedfx.start import moment_start

from conftest import case, case_frame, lmer_cases


@pytest.mark.parametrize("name", lmer_cases())
def test_start_is_near_and_the_optimum_is_r_s(name: str) -> None:
    ref = case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(ref["formula"], case_frame(ref), reml=ref["reml"])
    levels = tuple(t.nlevels for t in fit.design.terms)
    start = moment_start(fit.A, fit.layout, levels)
    diagonal = fit.layout.is_diagonal
    # within a factor of 3 of θ̂ for every standard deviation that is not on its boundary
    clear = fit.theta[diagonal] > 0.05
    ratio = start[diagonal][clear] / fit.theta[diagonal][clear]
    assert np.all((ratio > 1 / 3) & (ratio < 3)), (start, fit.theta)
    assert np.all(start[~diagonal] == 0.0)
    assert fit.objective <= ref["objective"] + 1e-6


def test_one_way_start_is_the_anova_estimator() -> None:
    """Balanced one-way layout: the start is the classical ANOVA estimate σ_b/σ."""
    data = mfx.datasets.load("Dyestuff")
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", data)
    y = data["Yield"].to_numpy()
    groups = data.groupby("Batch")["Yield"]
    n, ell, m = len(y), groups.ngroups, 5
    msb = m * np.sum((groups.mean() - y.mean()) ** 2) / (ell - 1)
    msw = np.sum((y - groups.transform("mean")) ** 2) / (n - ell)
    expected = np.sqrt((msb - msw) / m / msw)
    start = moment_start(fit.A, fit.layout, (ell,))
    assert start[0] == pytest.approx(expected, rel=0.15)
