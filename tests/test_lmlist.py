"""Per-group fits (lme4's lmList) against the per-State lm cases from R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedfx as mfx

from conftest import case


def test_each_group_matches_r() -> None:
    fits = mfx.lm_list("Mood ~ Exercise | State", mfx.datasets.load("exercise_mood"))
    assert list(fits.fits) == ["A", "B", "C", "D"]
    table = fits.coef_table()
    for state in "ABCD":
        ref = case(f"exercise_mood_lm_state_{state}")["coefficients"]
        rows = table[table["group"] == state].set_index("term").loc[ref["names"]]
        np.testing.assert_allclose(rows["estimate"], ref["estimate"], rtol=1e-6)
        np.testing.assert_allclose(rows["std_error"], ref["se"], rtol=1e-6)
        df = case(f"exercise_mood_lm_state_{state}")["df_resid"]
        half = stats.t.ppf(0.975, df) * np.asarray(ref["se"])
        np.testing.assert_allclose(rows["upper"] - rows["estimate"], half, rtol=1e-6)


def test_small_groups_are_reported_not_dropped_silently() -> None:
    data = mfx.datasets.load("exercise_mood")
    tiny = data[data["State"] == "A"].head(2).assign(State="E")
    with pytest.warns(mfx.MixedFxWarning, match="1 group"):
        fits = mfx.lm_list("Mood ~ Exercise | State", pd.concat([data, tiny], ignore_index=True))
    assert "E" in fits.skipped and "E" not in fits.fits
    assert len(fits.fits) == 4


def test_bad_formula() -> None:
    with pytest.raises(mfx.FormulaError, match="y ~ x \\| group"):
        mfx.lm_list("Mood ~ Exercise", mfx.datasets.load("exercise_mood"))
