"""``offset(expr)`` in formulas: added to the linear predictor with coefficient 1, as lme4/lm.

Reference numbers from ``tests/data/inputs/offset.R`` (lme4 1.1, bobyqa with tight
tolerances) and, for lm, from R's ``lm``/``summary.lm``/``predict.lm`` as quoted below.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx

INPUTS = Path(__file__).parent / "data" / "inputs"
REFERENCE = json.loads((INPUTS / "offset.json").read_text())
NEW = {
    "sleep_reml": pd.DataFrame({"Days": [0, 5, 12], "Subject": ["308", "309", "999"]}),
    "sim_reml": pd.DataFrame(
        {"x": [-1.0, 0.0, 2.0], "e": [1.0, 2.5, 0.7], "g": ["g00", "g05", "new"]}
    ),
}
NEW["sim_ml_two_offsets"] = NEW["sim_reml"]


def data_of(name: str) -> pd.DataFrame:
    if name.startswith("sleep"):
        return mfx.datasets.load("sleepstudy").astype({"Subject": str})
    return pd.read_csv(INPUTS / "offset.csv")


@pytest.mark.parametrize("name", list(REFERENCE))
def test_lmer_with_offset_matches_lme4(name: str) -> None:
    ref = REFERENCE[name]
    fit = mfx.lmer(ref["formula"], data_of(name), reml=ref["reml"])
    assert fit.objective == pytest.approx(ref["objective"], abs=1e-6)
    np.testing.assert_allclose(fit.theta, np.atleast_1d(ref["theta"]), atol=1e-4)
    np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=1e-6)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), ref["coef_se"], rtol=1e-5)
    close = {"rtol": 1e-7, "atol": 1e-5}  # θ agrees to ~1e-6, which moves b̂ and fitted a little
    np.testing.assert_allclose(fit.fitted, ref["fitted"], **close)
    np.testing.assert_allclose(fit.residuals, ref["residuals"], **close)
    new = NEW[name]
    np.testing.assert_allclose(fit.predict(new, allow_new_levels=True), ref["predict"], **close)
    population = fit.predict(new, include_random=False)
    np.testing.assert_allclose(population, ref["predict_population"], **close)


def test_offset_is_the_model_of_y_minus_offset() -> None:
    data = pd.read_csv(INPUTS / "offset.csv")
    fit = mfx.lmer("y ~ x + offset(log(e)) + (1 + x | g)", data)
    shifted = mfx.lmer("I(y - np.log(e)) ~ x + (1 + x | g)", data)
    assert fit.objective == pytest.approx(shifted.objective, rel=1e-12)
    np.testing.assert_allclose(fit.fixef, shifted.fixef, rtol=1e-10)
    np.testing.assert_allclose(fit.fitted, shifted.fitted + np.log(data["e"]), rtol=1e-10)
    np.testing.assert_allclose(fit.predict(), fit.fitted, rtol=0)
    np.testing.assert_allclose(fit.predict(data), fit.fitted, rtol=1e-12)


def test_simulated_responses_carry_the_offset() -> None:
    data = pd.read_csv(INPUTS / "offset.csv")
    fit = mfx.lmer("y ~ x + offset(log(e)) + (1 | g)", data)
    plain = mfx.lmer("I(y - np.log(e)) ~ x + (1 | g)", data)
    np.testing.assert_allclose(
        fit.simulate(3, seed=1), plain.simulate(3, seed=1) + np.log(data["e"]).to_numpy()[:, None]
    )


def test_lm_with_offset_matches_r() -> None:
    # R: m <- lm(Reaction ~ Days + offset(Days*2), sleepstudy); s <- summary(m)
    fit = mfx.lm("Reaction ~ Days + offset(Days*2)", mfx.datasets.load("sleepstudy"))
    np.testing.assert_allclose(fit.coef, [251.40510484848485, 8.46728595959596], rtol=1e-12)
    assert fit.r_squared == pytest.approx(0.286471395107710, rel=1e-10)
    assert fit.adj_r_squared == pytest.approx(0.282462807439776, rel=1e-10)
    assert fit.fstatistic is not None
    assert fit.fstatistic.value == pytest.approx(71.464420598624486, rel=1e-10)
    assert fit.sigma == pytest.approx(47.714719743778545, rel=1e-12)
    assert fit.loglik == pytest.approx(-950.146528178181825, rel=1e-12)
    # predict(m, data.frame(Days = c(0, 5, 12)), interval = "confidence")
    band = fit.predict(pd.DataFrame({"Days": [0, 5, 12]}), interval="confidence")
    assert isinstance(band, pd.DataFrame)
    expected = [
        [251.405104848485, 238.360753187124, 264.449456509846],
        [303.741534646465, 296.617770519104, 310.865298773825],
        [377.012536363636, 357.388880202599, 396.636192524673],
    ]
    np.testing.assert_allclose(band.to_numpy(), expected, rtol=1e-12)


def test_offset_missing_in_new_data_is_named() -> None:
    data = pd.read_csv(INPUTS / "offset.csv")
    fit = mfx.lmer("y ~ x + offset(log(e)) + (1 | g)", data)
    with pytest.raises(mfx.UnknownColumnError, match=r"\['e'\]"):
        fit.predict(data.drop(columns="e"))
    assert np.isnan(fit.predict(data.assign(e=np.nan))).all()


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x - offset(e) + (1 | g)", "offset cannot be subtracted"),
        ("y ~ x + offset(log(e - 10)) + (1 | g)", "null values after evaluation"),
        ("y ~ x + offset(zz) + (1 | g)", r"\['zz'\]"),
    ],
)
def test_bad_offsets_are_named(formula: str, message: str) -> None:
    data = pd.read_csv(INPUTS / "offset.csv")
    with pytest.raises(mfx.MixedFxError, match=message), np.errstate(invalid="ignore"):
        mfx.lmer(formula, data)


def test_likelihood_ratio_test_of_models_with_offsets_matches_lme4() -> None:
    # R: anova(lmer(y ~ 1 + offset(log(e)) + (1 + x|g), d), lmer(y ~ x + offset(log(e)) +
    # (1 + x|g), d)), d = offset.csv: AIC 285.0202480, 283.4395799; Chisq 3.580668102
    data = pd.read_csv(INPUTS / "offset.csv")
    small = mfx.lmer("y ~ 1 + offset(log(e)) + (1 + x | g)", data)
    big = mfx.lmer("y ~ x + offset(log(e)) + (1 + x | g)", data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lme4's "refitting model(s) with ML"
        table = mfx.anova(small, big)
    np.testing.assert_allclose(table["aic"], [285.0202480, 283.4395799], atol=2e-6)
    assert table["chisq"].iloc[1] == pytest.approx(3.580668102, abs=2e-5)
