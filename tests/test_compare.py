"""compare(): the article's RMSE table, and the mixed-model R², against R's values."""

from __future__ import annotations

import json

import pytest

import mixedfx as mfx

from conftest import DATA, case


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


NAKAGAWA = json.loads((DATA / "nakagawa_r2.json").read_text())


@pytest.mark.parametrize(
    "ref", NAKAGAWA, ids=[f"{r['formula']}, reml={r['reml']}" for r in NAKAGAWA]
)
def test_nakagawa_r2_matches_performance(ref: dict) -> None:
    """R's performance::r2_nakagawa (tests/data/r/nakagawa_r2.R), at R's tightly converged
    optimum; 1e-6 relative is the precision of our θ̂, on which R² depends to first order.
    For an uncorrelated slope the reference is Johnson's R² from R's variance components,
    since performance 0.10.2 leaves the slope's variance out there."""
    fit = mfx.lmer(ref["formula"], mfx.datasets.load(ref["data"]), reml=ref["reml"])
    expected = ref.get("johnson", ref)
    r2 = mfx.nakagawa_r2(fit)
    assert r2.marginal == pytest.approx(expected["marginal"], rel=1e-6, abs=1e-12)
    assert r2.conditional == pytest.approx(expected["conditional"], rel=1e-6)
