"""Bad input raises a specific error that names the problem and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx


@pytest.fixture
def sleep() -> pd.DataFrame:
    return mfx.datasets.load("sleepstudy")


@pytest.mark.parametrize(
    ("formula", "message", "caret_at"),
    [
        ("Reaction ~ Days + (1 | Subject", "unclosed", 18),
        ("Reaction ~ Days) + (1 | Subject)", "unmatched", 15),
        ("Reaction Days + (1 | Subject)", "no '~'", 0),
        ("Reaction ~ Days + (1 | )", "grouping factor", 21),
        ("Reaction ~ Days + ( | Subject)", "expression before", 20),
        ("Reaction ~ Days ~ x + (1 | Subject)", "more than one", 16),
        ("Reaction ~ Days + (1 | log(Subject))", "not a column name", 23),
    ],
)
def test_formula_syntax_errors_point_at_the_problem(sleep, formula, message, caret_at) -> None:
    with pytest.raises(mfx.FormulaError, match=message) as info:
        mfx.lmer(formula, sleep)
    assert info.value.position == caret_at
    assert str(info.value).splitlines()[-1] == "  " + " " * caret_at + "^"


def test_unknown_column_lists_existing_ones(sleep) -> None:
    with pytest.raises(mfx.UnknownColumnError, match=r"\['Dayz'\].*'Reaction', 'Days', 'Subject'"):
        mfx.lmer("Reaction ~ Dayz + (1 | Subject)", sleep)


def test_single_level_grouping_factor(sleep) -> None:
    data = sleep.assign(one="x")
    with pytest.raises(mfx.DataError, match="only 1 level"):
        mfx.lmer("Reaction ~ Days + (1 | one)", data)


def test_as_many_levels_as_observations(sleep) -> None:
    data = sleep.assign(row=np.arange(len(sleep)))
    with pytest.raises(mfx.DataError, match="180 levels for 180 observations"):
        mfx.lmer("Reaction ~ Days + (1 | row)", data)


def test_too_many_random_effects(sleep) -> None:
    data = sleep.assign(pair=np.arange(len(sleep)) // 2, d2=sleep["Days"] ** 2)
    with pytest.raises(mfx.IdentifiabilityError, match="unidentifiable"):
        mfx.lmer("Reaction ~ Days + (1 + Days + d2 | pair)", data)


def test_no_rows_left(sleep) -> None:
    data = sleep.assign(Days=np.nan)
    with pytest.raises(mfx.DataError, match="no rows left"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfx.lmer("Reaction ~ Days + (1 | Subject)", data)


def test_non_numeric_response(sleep) -> None:
    with pytest.raises(mfx.DataError, match="must be numeric"):
        mfx.lmer("Subject ~ Days + (1 | Days)", sleep)


def test_no_random_term(sleep) -> None:
    with pytest.raises(mfx.DataError, match="no random-effects term"):
        mfx.lmer("Reaction ~ Days", sleep)


def test_rank_deficient_columns_are_dropped_and_named(sleep) -> None:
    data = sleep.assign(Weeks=sleep["Days"] / 7)
    with pytest.warns(mfx.RankDeficiencyWarning, match=r"dropping 1 column\(s\): \['Weeks'\]"):
        fit = mfx.lmer("Reaction ~ Days + Weeks + (1 | Subject)", data)
    reference = mfx.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    assert list(fit.fixef.index) == ["(Intercept)", "Days"]
    assert fit.design.fixed.dropped == ("Weeks",)
    assert fit.objective == pytest.approx(reference.objective, rel=1e-12)
    assert "Weeks" in str(fit.summary())


def test_missing_values_are_removed_counted_and_reported(sleep) -> None:
    data = sleep.copy()
    data.loc[[3, 50, 51], "Reaction"] = np.nan
    data.loc[7, "Subject"] = None
    before = data.copy()
    with pytest.warns(mfx.MissingValuesWarning, match="4 of 180 rows"):
        fit = mfx.lmer("Reaction ~ Days + (1 | Subject)", data)
    pd.testing.assert_frame_equal(data, before)
    assert fit.nobs == 176
    assert fit.frame.n_dropped == 4
    complete = mfx.lmer("Reaction ~ Days + (1 | Subject)", data.dropna().reset_index(drop=True))
    assert fit.objective == pytest.approx(complete.objective, rel=1e-12)
    assert "4 row(s) with missing values were removed" in str(fit.summary())


def test_unseen_level_in_prediction(sleep) -> None:
    fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    new = pd.DataFrame({"Days": [2.0, 3.0], "Subject": ["308", "999"]})
    with pytest.raises(mfx.NewLevelError, match=r"'999'.*allow_new_levels=True"):
        fit.predict(new)
    got = fit.predict(new, allow_new_levels=True)
    population = fit.predict(new, include_random=False)
    assert got[1] == pytest.approx(population[1], rel=1e-12)
    assert got[0] == pytest.approx(fit.coef["Subject"].loc["308"] @ np.array([1.0, 2.0]), rel=1e-12)


def test_singular_fit_warns_and_is_flagged() -> None:
    data = mfx.datasets.load("Dyestuff2")
    with pytest.warns(mfx.SingularFitWarning, match="singular"):
        fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", data)
    assert fit.is_singular
    assert fit.theta[0] == pytest.approx(0.0, abs=1e-8)
    assert "boundary (singular) fit" in str(fit.summary())


def test_data_of_wrong_type() -> None:
    with pytest.raises(mfx.DataError, match="pandas DataFrame"):
        mfx.lmer("y ~ x + (1 | g)", [[1, 2, 3]])  # type: ignore[arg-type]
