"""Predictions for new data use the training encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx

from conftest import case, case_frame


@pytest.fixture(scope="module")
def cake_fit() -> tuple[mfx.LinearMixedModel, pd.DataFrame]:
    ref = case("cake_reml")
    data = case_frame(ref)
    return mfx.lmer(ref["formula"], data), data


def test_predict_on_training_rows_is_fitted(cake_fit) -> None:
    fit, data = cake_fit
    np.testing.assert_allclose(fit.predict(data), fit.fitted, rtol=1e-12)
    np.testing.assert_allclose(fit.predict(), fit.fitted, rtol=1e-12)


def test_population_prediction_is_x_beta(cake_fit) -> None:
    fit, data = cake_fit
    expected = fit.design.fixed.X @ fit.fixef.to_numpy()
    np.testing.assert_allclose(fit.predict(data, include_random=False), expected, rtol=1e-12)


def test_subset_and_reordered_rows(cake_fit, rng) -> None:
    fit, data = cake_fit
    rows = rng.choice(len(data), 25, replace=False)
    subset = data.iloc[rows].reset_index(drop=True)
    np.testing.assert_allclose(fit.predict(subset), fit.fitted[rows], rtol=1e-12)


def test_new_data_with_few_levels_present(cake_fit) -> None:
    """A categorical column whose new data hold only some levels still encodes as in fitting."""
    fit, data = cake_fit
    one = data[(data["recipe"] == "C") & (data["temperature"] == "205")].head(3)
    as_strings = one.assign(
        recipe=one["recipe"].astype(str), temperature=one["temperature"].astype(str)
    )
    rows = one.index.to_numpy()
    np.testing.assert_allclose(fit.predict(one), fit.fitted[rows], rtol=1e-12)
    np.testing.assert_allclose(fit.predict(as_strings), fit.fitted[rows], rtol=1e-12)


def test_missing_predictor_gives_nan(cake_fit) -> None:
    fit, data = cake_fit
    new = data.head(2).copy()
    new["recipe"] = pd.Categorical([None, "A"], categories=["A", "B", "C"])
    out = fit.predict(new, include_random=False)
    assert np.isnan(out[0])
    assert out[1] == pytest.approx(fit.predict(data.head(2), include_random=False)[1])


def test_unseen_level_of_a_fixed_factor(cake_fit) -> None:
    fit, data = cake_fit
    new = data.head(2).assign(recipe=["A", "Z"])
    with pytest.raises(mfx.NewLevelError, match="not seen in fitting"):
        fit.predict(new, include_random=False)
