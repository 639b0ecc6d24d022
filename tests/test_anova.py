"""Likelihood-ratio tests between mixed models: REML refits, ordering, data checks."""

from __future__ import annotations

import pytest

import mixedfx as mfx

from conftest import case


def test_reml_fits_are_refitted_by_ml_and_ordered_by_size() -> None:
    ref = case("sleepstudy_anova_intercept_vs_slopes")
    data = mfx.datasets.load("sleepstudy")
    slopes = mfx.lmer("Reaction ~ Days + (Days | Subject)", data)  # REML
    intercepts = mfx.lmer("Reaction ~ Days + (1 | Subject)", data)  # REML
    table = mfx.anova(slopes, intercepts, names=["slopes", "intercepts"])
    assert list(table.index) == ["intercepts", "slopes"]
    assert "refitted" in table.attrs["note"] and table.attrs["refitted"] == ["slopes", "intercepts"]
    assert table["chisq"].iloc[1] == pytest.approx(ref["chisq"], rel=1e-3)
    assert table["p_value"].iloc[1] == pytest.approx(ref["p"], rel=2e-2)
    assert table["deviance"].tolist() == pytest.approx(ref["deviance"], abs=1e-3)


def test_models_on_different_rows_are_refused() -> None:
    data = mfx.datasets.load("sleepstudy")
    a = mfx.lmer("Reaction ~ Days + (1 | Subject)", data, reml=False)
    b = mfx.lmer("Reaction ~ Days + (Days | Subject)", data.iloc[:170], reml=False)
    with pytest.raises(mfx.DataError, match="different data"):
        mfx.anova(a, b)
