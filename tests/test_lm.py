"""lm against R's lm/summary.lm on the founding article's data (tolerance 1e-6 relative)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx

from conftest import case, case_frame

LM_CASES = ["exercise_mood_lm1", "exercise_mood_lm2"] + [
    f"exercise_mood_lm_state_{s}" for s in "ABCD"
]


def fit_case(name: str) -> tuple[dict, mfx.LinearModel]:
    ref = case(name)
    data = case_frame(ref)
    if ref.get("subset"):
        data = data.query(ref["subset"], engine="python").reset_index(drop=True)
    return ref, mfx.lm(ref["formula"], data)


@pytest.mark.parametrize("name", LM_CASES)
def test_lm_matches_r(name: str) -> None:
    ref, fit = fit_case(name)
    table = fit.coef_table().loc[ref["coefficients"]["names"]]
    c = ref["coefficients"]
    np.testing.assert_allclose(table["estimate"], c["estimate"], rtol=1e-6)
    np.testing.assert_allclose(table["std_error"], c["se"], rtol=1e-6)
    np.testing.assert_allclose(table["statistic"], c["t"], rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], c["p"], rtol=1e-5, atol=1e-300)
    for attr in ("sigma", "r_squared", "adj_r_squared", "loglik", "aic", "bic", "rss"):
        assert getattr(fit, attr) == pytest.approx(ref[attr], rel=1e-6), attr
    assert fit.df_resid == ref["df_resid"]
    f = fit.fstatistic
    assert f is not None
    assert f.value == pytest.approx(ref["fstatistic"]["value"], rel=1e-6)
    assert (f.num_df, f.den_df) == (ref["fstatistic"]["numdf"], ref["fstatistic"]["dendf"])
    assert f.p_value == pytest.approx(ref["fstatistic"]["p"], rel=1e-5)
    np.testing.assert_allclose(fit.fitted, ref["fitted"], rtol=1e-6)
    np.testing.assert_allclose(fit.residuals, ref["residuals"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fit.vcov.to_numpy(), ref["vcov"], rtol=1e-6)


def test_prediction_intervals_against_textbook() -> None:
    _, fit = fit_case("exercise_mood_lm2")
    data = mfx.datasets.load("exercise_mood").head(7)
    X0 = fit.fixed.matrix(data)
    X = fit.fixed.X
    h = np.einsum("ij,jk,ik->i", X0, np.linalg.inv(X.T @ X), X0)
    from scipy import stats

    t = stats.t.ppf(0.975, fit.df_resid)
    conf = fit.predict(data, interval="confidence")
    pred = fit.predict(data, interval="prediction")
    np.testing.assert_allclose(conf["upr"] - conf["fit"], t * fit.sigma * np.sqrt(h), rtol=1e-10)
    np.testing.assert_allclose(
        pred["fit"] - pred["lwr"], t * fit.sigma * np.sqrt(1 + h), rtol=1e-10
    )
    np.testing.assert_allclose(fit.predict(data), X0 @ fit.coef.to_numpy(), rtol=1e-12)


def test_no_intercept_r_squared_is_uncentred(rng) -> None:
    x = rng.normal(size=50)
    y = 2 + 3 * x + rng.normal(size=50)
    fit = mfx.lm("y ~ 0 + x", pd.DataFrame({"x": x, "y": y}))
    beta = (x @ y) / (x @ x)
    rss = np.sum((y - beta * x) ** 2)
    assert fit.r_squared == pytest.approx(1 - rss / np.sum(y**2), rel=1e-12)
    assert fit.adj_r_squared == pytest.approx(1 - (1 - fit.r_squared) * 50 / 49, rel=1e-12)


def test_row_order_invariance(rng) -> None:
    data = mfx.datasets.load("exercise_mood")
    order = rng.permutation(len(data))
    a = mfx.lm("Mood ~ Exercise + State", data)
    b = mfx.lm("Mood ~ Exercise + State", data.iloc[order])
    np.testing.assert_allclose(a.coef.to_numpy(), b.coef.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.fitted, a.fitted[order], rtol=1e-10)


def test_rank_deficient_and_errors() -> None:
    data = mfx.datasets.load("exercise_mood").assign(Minutes=lambda d: d["Exercise"] * 60)
    with pytest.warns(mfx.RankDeficiencyWarning, match="Minutes"):
        fit = mfx.lm("Mood ~ Exercise + Minutes", data)
    assert list(fit.coef.index) == ["(Intercept)", "Exercise"]
    with pytest.raises(mfx.FormulaError, match="lmer"):
        mfx.lm("Mood ~ Exercise + (1 | State)", data)
    with pytest.raises(mfx.DataError, match="cannot estimate"):
        mfx.lm("Mood ~ Exercise", data.head(2))
    with pytest.raises(mfx.DataError, match="numeric"):
        mfx.lm("State ~ Exercise", data)


def test_summary_text() -> None:
    _, fit = fit_case("exercise_mood_lm1")
    text = str(fit.summary())
    assert "lm(formula = Mood ~ Exercise)" in text
    assert "(Intercept)  3.33631    0.30758   10.85  < 2e-16 ***" in text
    assert "Residual standard error: 2.218 on 242 degrees of freedom" in text
    assert "Multiple R-squared:  0.1976,\tAdjusted R-squared:  0.1943" in text
    assert "F-statistic: 59.6 on 1 and 242 DF,  p-value: 3.055e-13" in text
    assert "<table" in fit.summary()._repr_html_()


def test_f_test_between_nested_lms() -> None:
    _, small = fit_case("exercise_mood_lm1")
    _, big = fit_case("exercise_mood_lm2")
    table = mfx.anova(small, big)
    expected_f = ((small.rss - big.rss) / 3) / (big.rss / big.df_resid)
    assert table["f_value"].iloc[1] == pytest.approx(expected_f, rel=1e-12)
    assert table["df"].iloc[1] == 3
    assert table["rss"].iloc[0] == pytest.approx(case("exercise_mood_lm1")["rss"], rel=1e-6)
