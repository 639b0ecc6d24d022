"""Formula parsing (lme4's bar-term rules) and the models each form fits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.formula import BarTerm, parse_formula

from conftest import case, case_frame


@pytest.mark.parametrize(
    ("formula", "fixed", "terms"),
    [
        ("Reaction ~ Days + (Days | Subject)", "Days", [("Days", ("Subject",))]),
        ("y ~ x + (1 + x || g)", "x", [("1", ("g",)), ("0 + x", ("g",))]),
        ("y ~ x + (0 + x | g)", "x", [("0 + x", ("g",))]),
        ("y ~ (1 | a/b)", "1", [("1", ("a",)), ("1", ("b", "a"))]),
        ("y ~ (1 | a/b/c)", "1", [("1", ("a",)), ("1", ("b", "a")), ("1", ("c", "b", "a"))]),
        ("y ~ x + (1 | a:b)", "x", [("1", ("a", "b"))]),
        ("y ~ x + (1 | g) + (0 + x | g)", "x", [("1", ("g",)), ("0 + x", ("g",))]),
        ("y ~ 0 + x + (f | g)", "0 + x", [("f", ("g",))]),
        ("y ~ x - 1 + (1|g)", "x - 1", [("1", ("g",))]),
        (
            "y ~ x * f + I(x**2) + np.log(z) + C(h) + (1|g)",
            "x * f + I(x**2) + np.log(z) + C(h)",
            [("1", ("g",))],
        ),
    ],
)
def test_parse(formula: str, fixed: str, terms: list[tuple[str, tuple[str, ...]]]) -> None:
    parsed = parse_formula(formula)
    assert parsed.fixed == fixed
    assert parsed.random == tuple(BarTerm(e, f) for e, f in terms)


def test_nested_labels_follow_lme4() -> None:
    labels = [t.label for t in parse_formula("y ~ (1 | batch/cask)").random]
    assert labels == ["batch", "cask:batch"]


def sleep() -> pd.DataFrame:
    return mfx.datasets.load("sleepstudy")


def test_uncorrelated_equals_two_terms_and_matches_r() -> None:
    ref = case("sleepstudy_uncorr_reml")
    a = mfx.lmer("Reaction ~ Days + (Days || Subject)", sleep())
    b = mfx.lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep())
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    assert a.objective == pytest.approx(ref["objective"], abs=1e-4)
    assert list(a.varcorr["group"]) == ["Subject", "Subject.1", "Residual"]
    assert list(a.ranef["Subject"].columns) == ["(Intercept)", "Days"]


def test_nested_equals_explicit_interaction() -> None:
    pastes = mfx.datasets.load("Pastes")
    a = mfx.lmer("strength ~ 1 + (1 | batch/cask)", pastes)
    b = mfx.lmer("strength ~ 1 + (1 | batch) + (1 | batch:cask)", pastes)
    assert a.objective == pytest.approx(b.objective, rel=1e-10)
    assert a.ngroups == {"cask:batch": 30, "batch": 10}
    assert b.ngroups == {"batch:cask": 30, "batch": 10}
    assert a.objective == pytest.approx(case("pastes_reml")["objective"], abs=1e-4)


def test_slope_implies_intercept() -> None:
    a = mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep())
    b = mfx.lmer("Reaction ~ Days + (1 + Days | Subject)", sleep())
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    c = mfx.lmer("Reaction ~ Days + (0 + Days | Subject)", sleep())
    assert list(c.ranef["Subject"].columns) == ["Days"]
    assert c.layout.ks == (1,)


def test_no_intercept_fixed_part() -> None:
    fit = mfx.lmer("Reaction ~ Days - 1 + (1 | Subject)", sleep())
    assert list(fit.fixef.index) == ["Days"]
    fit0 = mfx.lmer("Reaction ~ 0 + Days + (1 | Subject)", sleep())
    assert fit0.objective == pytest.approx(fit.objective, rel=1e-12)


def test_categorical_fixed_effects_use_r_names_and_levels() -> None:
    ref = case("cake_reml")
    fit = mfx.lmer(ref["formula"], case_frame(ref))
    assert list(fit.fixef.index[:3]) == ["(Intercept)", "recipeB", "recipeC"]
    assert "recipeB:temperature185" in fit.fixef.index
    assert len(fit.fixef) == 3 * 6


def test_transformations_in_fixed_part() -> None:
    data = sleep().assign(Reaction=lambda d: d["Reaction"])
    fit = mfx.lmer("np.log(Reaction) ~ Days + I(Days**2) + (1 | Subject)", data)
    assert list(fit.fixef.index) == ["(Intercept)", "Days", "I(Days^2)"]
    manual = data.assign(logr=np.log(data["Reaction"]), d2=data["Days"] ** 2)
    ref = mfx.lmer("logr ~ Days + d2 + (1 | Subject)", manual)
    np.testing.assert_allclose(fit.fixef.to_numpy(), ref.fixef.to_numpy(), rtol=1e-10)


def test_categorical_inside_random_term(rng) -> None:
    n = 300
    g = rng.integers(0, 20, n)
    f = rng.choice(["lo", "mid", "hi"], n)
    shift = {"lo": 0.0, "mid": 1.0, "hi": 2.0}
    y = np.array([shift[v] for v in f]) + rng.normal(size=20)[g] + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "f": f, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer("y ~ f + (1 + f | g)", data)
    assert list(fit.ranef["g"].columns) == ["(Intercept)", "flo", "fmid"]
    assert fit.layout.ks == (3,)
    assert fit.theta.size == 6


def test_grouping_columns_of_any_dtype() -> None:
    base = sleep()
    as_int = base.assign(Subject=base["Subject"].astype(int))
    as_cat = base.assign(Subject=base["Subject"].astype("category"))
    as_float = base.assign(Subject=base["Subject"].astype(float))
    fits = [
        mfx.lmer("Reaction ~ Days + (Days | Subject)", d) for d in (base, as_int, as_cat, as_float)
    ]
    for fit in fits[1:]:
        assert fit.objective == pytest.approx(fits[0].objective, rel=1e-12)
        assert list(fit.ranef["Subject"].index) == list(fits[0].ranef["Subject"].index)


@pytest.mark.parametrize(
    ("formula", "remlcrit", "name"),
    [  # REML criteria printed by lme4 1.1-31 (R 4.2.2) for the same formulas
        ("Reaction ~ I(Days^2) + (1|Subject)", 1795.989, "I(Days^2)"),
        ("Reaction ~ factor(Days) + (1|Subject)", 1729.493, "factor(Days)1"),
        ("Reaction ~ scale(Days) + (1|Subject)", 1784.349, "scale(Days)"),
        ("Reaction ~ poly(Days, 2) + (1|Subject)", 1769.333, "poly(Days, 2)1"),
        ("Reaction ~ exp(Days/10) + sqrt(Days) + (1|Subject)", 1776.263, "sqrt(Days)"),
        ("Reaction ~ Days + (scale(Days)|Subject)", 1743.628, "Days"),
    ],
)
def test_r_spellings_in_formulas(formula: str, remlcrit: float, name: str) -> None:
    """R's x^2 inside I() is a power (not Python's xor); factor(), sqrt() and the stateful
    transforms scale() and poly() read their columns from the data."""
    fit = mfx.lmer(formula, sleep())
    assert fit.objective == pytest.approx(remlcrit, abs=1e-3)
    assert name in fit.fixef.index
    np.testing.assert_allclose(fit.predict(sleep()), fit.fitted, rtol=1e-10)


def test_power_outside_calls_is_still_the_interaction_operator() -> None:
    assert parse_formula("y ~ (a + b)^2 + I(x^2) + (1|g)").fixed == "(a + b)^2 + I(x**2)"


def test_badly_scaled_slope_reaches_the_optimum() -> None:
    """An uncentred covariate (temp ≈ 200) makes θ badly scaled; lme4 1.1-31 stops at REML
    criterion 1669.968737 there, the optimum is a boundary fit about 0.05 lower."""
    with pytest.warns(mfx.SingularFitWarning):
        fit = mfx.lmer("angle ~ temp + (temp | replicate)", mfx.datasets.load("cake"))
    assert fit.objective <= 1669.968737 - 0.04
    assert fit.objective == pytest.approx(1669.917113, abs=1e-4)
