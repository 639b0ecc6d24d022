"""After the cross-product stage, inference works from A and the encodings alone.

Each model is fitted twice on the same data.  The second fit has every row it holds
overwritten with garbage at once (the frame's data, y, X, each term's covariates and level
indices, the offset); the encodings (names, levels, formulaic's specs) stay.  Every
inference quantity must then equal the untouched fit's, to 1e-10 relative: a quantity
that rereads the rows would change or fail.  Row-level outputs (fitted values, residuals,
predictions, `simulate`) are the rows' by definition and are not compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.data.design import Design

RTOL = 1e-10


def _spoil(fit: mfx.LinearMixedModel, rng: np.random.Generator) -> None:
    """Overwrite the rows the fit holds; the encodings stay."""
    design: Design = fit.design
    data = fit.frame.data
    garbage = pd.DataFrame(
        {c: rng.permutation(data[c].to_numpy()) for c in data.columns}, index=data.index
    )
    n = design.y.size

    def spoil(holder: object, name: str, value: object) -> None:
        object.__setattr__(holder, name, value)  # the holders are frozen: that is the point

    spoil(fit.frame, "data", garbage)
    spoil(design, "y", rng.standard_normal(n) * 1e3)
    spoil(design.fixed, "X", rng.standard_normal(design.fixed.X.shape))
    spoil(design.fixed.columns, "source", garbage)
    spoil(design.fixed.columns, "matrix", rng.standard_normal(design.fixed.X.shape))
    spoil(design.offset, "values", rng.standard_normal(n))
    design.__dict__.pop("y_minus_offset", None)
    for term in design.terms:
        spoil(term.columns, "matrix", rng.standard_normal(term.columns.matrix.shape))
        spoil(term.columns, "source", garbage)
        spoil(term.factor, "refs", rng.permutation(term.factor.refs))


def _values(fit: mfx.LinearMixedModel) -> dict[str, pd.DataFrame | pd.Series]:
    summary = fit.summary()
    return {
        "fixed_effects": summary.fixed_effects,
        "random_effects": summary.random_effects.drop(columns="corr"),
        "criteria": pd.Series(summary.criteria),
        "satterthwaite": fit.coef_table("satterthwaite"),
        "kenward_roger": fit.coef_table("kenward-roger"),
        "anova3": fit.anova(type=3),
        "anova1": fit.anova(type=1),
        "profile": fit.confint("profile"),
        "bootstrap": fit.confint("bootstrap", nsim=20, seed=3),
    }


CASES: dict[str, tuple[str, str, str]] = {
    # name: (data set, formula, smaller model for the comparisons)
    "slopes": (
        "sleepstudy",
        "Reaction ~ Days + (Days | Subject)",
        "Reaction ~ Days + (1 | Subject)",
    ),
    "factors": (
        "cake",
        "angle ~ recipe * temp + (1 | recipe:replicate)",
        "angle ~ recipe + temp + (1 | recipe:replicate)",
    ),
}


def _frame(name: str) -> pd.DataFrame:
    return mfx.datasets.load(name).copy(deep=True)


@pytest.mark.parametrize("case", list(CASES))
def test_inference_reads_no_row_after_the_cross_products(case: str) -> None:
    data_name, formula, smaller = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = mfx.lmer(formula, _frame(data_name))
        expected = _values(reference)
        small = mfx.lmer(smaller, _frame(data_name))
        expected_lrt = mfx.anova(small, reference)
        expected_pb = mfx.anova(small, reference, method="bootstrap", nsim=8, seed=2)

        fit = mfx.lmer(formula, _frame(data_name))
        spoiled_small = mfx.lmer(smaller, _frame(data_name))
        rng = np.random.default_rng(0)
        _spoil(fit, rng)
        _spoil(spoiled_small, rng)
        got = _values(fit)
        got_lrt = mfx.anova(spoiled_small, fit)
        got_pb = mfx.anova(spoiled_small, fit, method="bootstrap", nsim=8, seed=2)

    for key, value in expected.items():
        _same(got[key], value, key)
    _same(got_lrt, expected_lrt, "anova")
    _same(got_pb, expected_pb, "parametric bootstrap")


def test_spoiling_changes_what_reads_the_rows() -> None:
    """The check has teeth: the row-level outputs do change."""
    data_name, formula, _ = CASES["slopes"]
    fit = mfx.lmer(formula, _frame(data_name))
    beta = fit.fixef.to_numpy()
    before = fit.design.linear_predictor(beta, None)
    _spoil(fit, np.random.default_rng(0))
    assert not np.allclose(fit.design.linear_predictor(beta, None), before)


def _same(got: pd.DataFrame | pd.Series, expected: pd.DataFrame | pd.Series, what: str) -> None:
    """Equal labels and text, numbers to `RTOL`."""
    got, expected = pd.DataFrame(got), pd.DataFrame(expected)
    pd.testing.assert_index_equal(got.index, expected.index)
    pd.testing.assert_index_equal(got.columns, expected.columns)
    numeric = expected.select_dtypes("number").columns
    pd.testing.assert_frame_equal(got.drop(columns=numeric), expected.drop(columns=numeric))
    np.testing.assert_allclose(
        got[numeric].to_numpy(float), expected[numeric].to_numpy(float), rtol=RTOL, err_msg=what
    )
