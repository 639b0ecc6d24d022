"""Model comparisons: anova with a linear model, REML refits said aloud, compare's columns.

R's numbers come from tests/data/inputs_numeric.R (lme4's anova.merMod, summary.lm,
performance::r2_nakagawa) on the bundled exercise_mood data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return mfx.datasets.load("exercise_mood")


@pytest.fixture(scope="module")
def fits(data: pd.DataFrame) -> dict[str, mfx.LinearModel | mfx.LinearMixedModel]:
    return {
        "m0": mfx.lm("Mood ~ Exercise", data),
        "m1": mfx.lmer("Mood ~ Exercise + (1 | State)", data),  # REML
        "m1ml": mfx.lmer("Mood ~ Exercise + (1 | State)", data, reml=False),
        "m2": mfx.lmer("Mood ~ Exercise + (Exercise | State)", data, reml=False),
    }


# lme4: as.data.frame(anova(m2, update(m1, REML = FALSE), m0)), rows by npar
R_ANOVA = pd.DataFrame(
    {
        "npar": [3, 4, 6],
        "aic": [1085.253539197248, 844.750932874936, 845.541155890473],
        "bic": [1095.745043873127, 858.739605776109, 866.524165242232],
        "loglik": [-539.626769598624, -418.375466437468, -416.770577945237],
        "deviance": [1079.253539197248, 836.750932874936, 833.541155890473],
        "chisq": [np.nan, 242.50260632231152, 3.20977698446291],
        "df": [np.nan, 1, 2],
        "p_value": [np.nan, 1.11953372669027e-54, 2.00911956905200e-01],
    },
    index=["m0", "m1", "m2"],
)


@pytest.mark.parametrize("order", [["m0", "m1"], ["m1", "m0"]])
def test_anova_of_a_linear_and_a_mixed_model(fits: dict, order: list[str]) -> None:
    """lme4's anova(m1, m0): the lm is the null model with its ML log-likelihood, and the REML
    fit is refitted by ML with the message "refitting model(s) with ML (instead of REML)".
    It raised TypeError."""
    with pytest.warns(mfx.RefitWarning, match=r"refitting model\(s\) with ML \(instead of REML\)"):
        table = mfx.anova(*(fits[k] for k in order), names=order)
    expected = R_ANOVA.loc[["m0", "m1"]]
    assert list(table.index) == ["m0", "m1"]
    for column in ["aic", "bic", "loglik", "deviance", "chisq"]:
        np.testing.assert_allclose(table[column], expected[column], rtol=1e-9, equal_nan=True)
    assert table["p_value"].iloc[1] == pytest.approx(1.11953372669008e-54, rel=1e-6)
    assert table.attrs["refitted"] == ["m1"]


def test_anova_of_three_models_with_a_linear_one(fits: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.RefitWarning)  # all ML: nothing is refitted
        table = mfx.anova(fits["m2"], fits["m1ml"], fits["m0"], names=["m2", "m1", "m0"])
    assert list(table.index) == ["m0", "m1", "m2"]
    np.testing.assert_array_equal(table["npar"], R_ANOVA["npar"])
    for column in ["aic", "bic", "loglik", "deviance", "chisq"]:
        np.testing.assert_allclose(table[column], R_ANOVA[column], rtol=1e-7, equal_nan=True)
    np.testing.assert_allclose(table["p_value"], R_ANOVA["p_value"], rtol=1e-5, equal_nan=True)


def test_anova_of_linear_models_alone_is_still_an_f_test(fits: dict, data: pd.DataFrame) -> None:
    table = mfx.anova(fits["m0"], mfx.lm("Mood ~ Exercise + State", data))
    assert "f_value" in table.columns


def test_anova_refuses_a_linear_model_on_other_rows(fits: dict, data: pd.DataFrame) -> None:
    with pytest.raises(mfx.DataError, match="different data"):
        mfx.anova(mfx.lm("Mood ~ Exercise", data.iloc[:-5]), fits["m1ml"])


def test_the_bootstrap_comparison_says_it_refits(data: pd.DataFrame) -> None:
    small = mfx.lmer("Mood ~ Exercise + (1 | State)", data)
    large = mfx.lmer("Mood ~ Exercise + (Exercise | State)", data)
    with pytest.warns(mfx.RefitWarning, match="model1, model2"):
        table = mfx.anova(small, large, method="bootstrap", nsim=2, seed=1)
    # the observed statistic is R's χ² of the ML fits (3.20977698446291)
    assert table["chisq"].iloc[0] == pytest.approx(3.20977698446291, rel=1e-5)


def test_compare_names_each_r2_for_what_it_is(fits: dict) -> None:
    """It had one ``r2`` column holding lm's R² for one row and the marginal R² of Nakagawa &
    Schielzeth for another.  R: summary(m0)$r.squared and performance::r2_nakagawa(m2)."""
    table = mfx.compare(fits["m0"], fits["m2"], names=["m0", "m2"])
    assert "r2" not in table.columns
    assert table.at["m0", "r2_ols"] == pytest.approx(0.197615672839298, rel=1e-10)
    assert table.at["m2", "r2_marginal"] == pytest.approx(0.00842256375603691, rel=1e-4)
    assert table.at["m2", "r2_conditional"] == pytest.approx(0.71657031341674249, rel=1e-4)
    assert np.isnan(table.at["m0", "r2_marginal"]) and np.isnan(table.at["m0", "r2_conditional"])
    assert np.isnan(table.at["m2", "r2_ols"])


def test_compare_warns_when_a_reml_criterion_sits_beside_likelihoods(fits: dict) -> None:
    with pytest.warns(mfx.ComparabilityWarning, match="REML fit.*m1.*ML or OLS.*m0"):
        mfx.compare(fits["m0"], fits["m1"], names=["m0", "m1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.ComparabilityWarning)
        mfx.compare(fits["m0"], fits["m1ml"], fits["m2"])


def test_compare_warns_for_reml_fits_with_other_fixed_effects(data: pd.DataFrame) -> None:
    a = mfx.lmer("Mood ~ Exercise + (1 | State)", data)
    b = mfx.lmer("Mood ~ 1 + (1 | State)", data)
    with pytest.warns(mfx.ComparabilityWarning, match="fixed effects differ"):
        mfx.compare(a, b)


def test_compare_refuses_fits_to_different_rows(fits: dict, data: pd.DataFrame) -> None:
    """As anova: RMSE and likelihoods of different rows are not comparable."""
    fewer = mfx.lmer("Mood ~ Exercise + (1 | State)", data.iloc[:-10], reml=False)
    with pytest.raises(mfx.DataError, match="different data"):
        mfx.compare(fits["m1ml"], fewer)
