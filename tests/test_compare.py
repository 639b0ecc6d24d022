"""compare(): the article's RMSE table, against R's values."""

from __future__ import annotations

import pytest

import mixedfx as mfx

from conftest import case


def test_rmse_of_the_article_models_match_r() -> None:
    ref = case("exercise_mood_rmse")
    data = mfx.datasets.load("exercise_mood")
    fits = {
        "lm1": mfx.lm("Mood ~ Exercise", data),
        "lm2": mfx.lm("Mood ~ Exercise + State", data),
        "lmer_intercept": mfx.lmer("Mood ~ Exercise + (1 | State)", data, reml=False),
        "lmer_slopes": mfx.lmer("Mood ~ Exercise + (1 + Exercise | State)", data, reml=False),
    }
    table = mfx.compare(*fits.values(), names=list(fits))
    for name, value in ref["rmse"].items():
        assert table.at[name, "rmse"] == pytest.approx(value, rel=1e-5)
    assert table.at["lm1", "r2_ols"] == pytest.approx(
        case("exercise_mood_lm1")["r_squared"], rel=1e-8
    )
    assert table.at["lmer_slopes", "aic"] == pytest.approx(
        case("exercise_mood_lmer_slopes_ml")["aic"], abs=1e-3
    )


def test_nakagawa_r2_by_definition() -> None:
    import numpy as np

    fit = mfx.lmer("Reaction ~ Days + (1 | Subject)", mfx.datasets.load("sleepstudy"))
    r2 = mfx.nakagawa_r2(fit)
    var_f = np.var(fit.design.fixed.X @ fit.fixef.to_numpy(), ddof=1)
    var_r = fit.varcorr["vcov"].iloc[0]
    total = var_f + var_r + fit.sigma**2
    assert r2.marginal == pytest.approx(var_f / total, rel=1e-12)
    assert r2.conditional == pytest.approx((var_f + var_r) / total, rel=1e-12)
