"""Invariances a correct fit must have, on the reference data sets: row order, level names,
REML against ML, the caller's data.  `test_properties` checks these and more on random designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from test_properties import assert_same_fit

from conftest import case, case_frame

FORMULAS = {
    "sleepstudy_slopes_reml": "Reaction ~ Days + (Days | Subject)",
    "penicillin_reml": "diameter ~ 1 + (1 | plate) + (1 | sample)",
    "pastes_reml": "strength ~ 1 + (1 | batch/cask)",
}


def load(name: str) -> pd.DataFrame:
    return case_frame(case(name))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_row_order_does_not_matter(name: str, rng) -> None:
    data = load(name)
    order = rng.permutation(len(data))
    fit = mfx.lmer(FORMULAS[name], data)
    shuffled = mfx.lmer(FORMULAS[name], data.iloc[order].reset_index(drop=True))
    assert_same_fit(fit, shuffled)
    np.testing.assert_allclose(shuffled.fitted, fit.fitted[order], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_level_names_do_not_matter(name: str) -> None:
    data = load(name)
    fit = mfx.lmer(FORMULAS[name], data)
    groups = {c for t in fit.design.terms for c in t.factor.columns}
    renamed = data.copy()
    for column in groups:  # reverse the alphabetical order of the labels, too
        renamed[column] = "zz" + data[column].astype(str).map(lambda s: s[::-1])
    relabelled = mfx.lmer(FORMULAS[name], renamed)
    assert_same_fit(fit, relabelled)
    np.testing.assert_allclose(relabelled.fitted, fit.fitted, rtol=1e-6)


def test_reml_and_ml_relate_as_they_should() -> None:
    data = load("sleepstudy_slopes_reml")
    reml = mfx.lmer(FORMULAS["sleepstudy_slopes_reml"], data)
    ml = mfx.lmer(FORMULAS["sleepstudy_slopes_reml"], data, reml=False)
    assert reml.covariances[0][0, 0] > ml.covariances[0][0, 0]
    # the ML fit minimizes the ML deviance: the REML estimates cannot do better on it
    assert ml.deviance <= reml.deviance
    assert ml.objective == pytest.approx(ml.deviance, rel=1e-14)
    assert reml.loglik == pytest.approx(-reml.objective / 2, rel=1e-14)
    # in a balanced design the fixed-effect estimates are the OLS ones under either criterion
    np.testing.assert_allclose(reml.fixef.to_numpy(), ml.fixef.to_numpy(), rtol=1e-8)


def test_callers_data_is_not_modified() -> None:
    data = load("pastes_reml")
    before = data.copy()
    fit = mfx.lmer(FORMULAS["pastes_reml"], data)
    fit.summary()
    fit.predict(data)
    pd.testing.assert_frame_equal(data, before)


def test_results_are_read_only() -> None:
    fit = mfx.lmer(FORMULAS["sleepstudy_slopes_reml"], load("sleepstudy_slopes_reml"))
    with pytest.raises(AttributeError):
        fit.reml = False  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        fit.fitted[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        fit.design.y[0] = 0.0
