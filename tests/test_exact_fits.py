"""Data a mixed model cannot estimate, told at fit time: exact fits, a constant response, a
covariate of zeros, predictors on extreme scales, two terms for one variance.

R's behaviour for each is recorded in tests/data/inputs_numeric.R: lme4 returns estimates
with convergence warnings ("unable to evaluate scaled gradient", "degenerate Hessian"),
warns "Some predictor variables are on very different scales: consider rescaling", or stops.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def random_slope() -> pd.DataFrame:
    return pd.read_csv(DATA / "random_slope.csv")


def test_three_rows_on_a_line_are_an_error_not_a_traceback() -> None:
    """The CLI's case: the objective could not be evaluated anywhere (FloatingPointError)."""
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [1.0, 2.0, 3.0], "g": ["a", "a", "b"]})
    with pytest.raises(mfx.DataError, match="the fixed effects fit the response exactly"):
        mfx.lmer("y ~ x + (1 | g)", data)


def test_an_exact_linear_model_warns_and_summarizes_as_r() -> None:
    """R's summary.lm: "essentially perfect fit", t = Inf for x and NaN for the intercept,
    F = Inf; the summary raised ZeroDivisionError."""
    data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(mfx.ExactFitWarning, match="essentially perfect fit"):
        fit = mfx.lm("y ~ x", data)
    table = fit.coef_table()
    assert np.isnan(table.at["(Intercept)", "statistic"]) and table.at["x", "statistic"] == np.inf
    assert fit.fstatistic is not None and fit.fstatistic.value == np.inf
    assert "F-statistic" in str(fit.summary())


def test_a_response_computed_from_the_predictors(random_slope: pd.DataFrame) -> None:
    """y = 1 + 2x: the fit "converged", then summary() raised FloatingPointError."""
    data = random_slope.assign(y=1 + 2 * random_slope["x"])
    with pytest.raises(mfx.DataError, match="fit the response exactly"):
        mfx.lmer("y ~ x + (1 | g)", data)


@pytest.mark.parametrize("formula", ["y ~ 1 + (1 | g)", "y ~ x + (1 | g)"])
def test_a_constant_response(random_slope: pd.DataFrame, formula: str) -> None:
    """lme4 gives σ = 0 with "unable to evaluate scaled gradient"; mixedfx says what it is."""
    with pytest.raises(mfx.DataError, match=r"the response is constant \(every value is 3\)"):
        mfx.lmer(formula, random_slope.assign(y=3.0))


def test_a_response_whose_mean_dwarfs_its_variation(random_slope: pd.DataFrame) -> None:
    """y + 1e6: the cross-products keep about 4 digits of y's variation; the fit came out
    0.6% off (θ) without a word, and at 1e8 raised FloatingPointError."""
    for offset in (1e6, 1e8):
        with pytest.raises(mfx.DataError, match=r"large constant part.*subtract a constant"):
            mfx.lmer("y ~ x + (1 | g)", random_slope.assign(y=random_slope["y"] + offset))


def test_exact_fits_raise_before_anything_else_can(random_slope: pd.DataFrame) -> None:
    """A fit that does not raise has a summary: the near-exact fit of test_boundary_optimum
    prints; exact ones raise in lmer, so no summary() or to_dict() can fail later."""
    near = pd.read_csv(DATA / "near_exact.csv")
    fit = mfx.lmer("y ~ 1 + (1 | g)", near)
    assert "REML criterion" in str(fit.summary())
    assert np.isfinite(fit.coef_table()["df"]).all()
    assert fit.to_dict()


@pytest.mark.parametrize(
    "formula", ["y ~ x + (z | g)", "y ~ x + (0 + z | g)", "y ~ x + (x + z | g)"]
)
def test_a_random_slope_on_zeros_names_the_column(random_slope: pd.DataFrame, formula: str) -> None:
    """Its variance is unidentified: it came out as 1e300, "converged" (lme4: "Hessian is
    numerically singular: parameters are not uniquely determined")."""
    with pytest.raises(mfx.DataError, match=r"\['z'\], zero in every row"):
        mfx.lmer(formula, random_slope.assign(z=0.0))


def test_predictors_on_very_different_scales_warn_as_lme4(random_slope: pd.DataFrame) -> None:
    """lme4's check.scaleX: a continuous column's standard deviation beyond 1e3 of 1, or of
    another's.  R warns for x · 1e12 and not for x."""
    scaled = random_slope.assign(x=random_slope["x"] * 1e12)
    with pytest.warns(mfx.PredictorScaleWarning, match="consider rescaling.*x 1.1"):
        fit = mfx.lmer("y ~ x + (1 | g)", scaled)
    # R: 1.418192657379² and the fixed slope 8.49732292076e-13 (0.849732292075 for x); a
    # column of size 1e12 costs the cross-products about 6 of their 16 digits
    assert fit.varcorr["vcov"].iloc[0] == pytest.approx(1.418192657379**2, rel=1e-5)
    assert fit.fixef["x"] == pytest.approx(8.49732292076e-13, rel=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.PredictorScaleWarning)
        mfx.lmer("y ~ x + (1 | g)", random_slope)


def test_zero_one_columns_are_not_scale_checked(random_slope: pd.DataFrame) -> None:
    """As lme4, indicator columns are left out: x / 1e4 beside them warns for x alone."""
    data = random_slope.assign(flag=(random_slope["x"] > 0).astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.PredictorScaleWarning)
        mfx.lmer("y ~ flag + (1 | g)", data)
    with pytest.warns(mfx.PredictorScaleWarning, match=r"\(standard deviations: x 0.000"):
        mfx.lmer("y ~ flag + x + (1 | g)", data.assign(x=data["x"] / 1e4))


def test_a_slope_on_a_covariate_in_units_of_1e12_has_a_summary(random_slope: pd.DataFrame) -> None:
    """lme4 warns of the scales and stops ("Downdated VtV is not positive definite"); the fit
    here warns likewise, and its Satterthwaite table, which failed with FloatingPointError,
    is that of the fit to x (the t statistics do not depend on x's units)."""
    scaled = random_slope.assign(x=random_slope["x"] * 1e12)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mfx.lmer("y ~ x + (x | g)", scaled)
    assert any(issubclass(w.category, mfx.PredictorScaleWarning) for w in caught)
    reference = mfx.lmer("y ~ x + (x | g)", random_slope).coef_table()
    table = fit.coef_table()
    np.testing.assert_allclose(table["statistic"], reference["statistic"], rtol=1e-4)
    np.testing.assert_allclose(table["df"], reference["df"], rtol=1e-3)
    assert fit.to_dict()


def test_two_terms_for_one_variance_warn(random_slope: pd.DataFrame) -> None:
    """(1 | g) + (1 | g): only the sum of the variances is identified.  lme4 warns
    "degenerate Hessian with 1 negative eigenvalues" and splits 1.0696 + 0.9417 = 2.01127,
    the variance of the single-term fit (2.011270413235350)."""
    with pytest.warns(mfx.IdentifiabilityWarning, match=r"\(1 \| g\) and \(1 \| g\)"):
        fit = mfx.lmer("y ~ x + (1 | g) + (1 | g)", random_slope)
    variances = fit.varcorr["vcov"].to_numpy()
    assert variances[0] + variances[1] == pytest.approx(2.011270413235350, rel=1e-6)
    assert variances[2] == pytest.approx(0.578753106086695, rel=1e-6)


def test_the_same_grouping_under_another_name_warns(random_slope: pd.DataFrame) -> None:
    data = random_slope.assign(h=random_slope["g"].map(lambda v: f"level{v}"))
    with pytest.warns(mfx.IdentifiabilityWarning, match=r"\(1 \| g\) and \(1 \| h\)"):
        mfx.lmer("y ~ x + (1 | g) + (1 | h)", data)


@pytest.mark.parametrize("formula", ["y ~ x + (x || g)", "y ~ x + (1 | g) + (0 + x | g)"])
def test_distinct_terms_on_one_factor_do_not_warn(random_slope: pd.DataFrame, formula: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.IdentifiabilityWarning)
        mfx.lmer(formula, random_slope)
