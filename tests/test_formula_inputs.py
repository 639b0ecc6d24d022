"""Formulas and columns written as lme4 users write them give lme4's fits.

R's numbers come from ``tests/data/inputs/formula_inputs.R``; the other checks compare a
formula with its plainly written equivalent, which must be the same model to 1e-10.
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
REFERENCE = json.loads((INPUTS / "formula_inputs.json").read_text())


def sleep() -> pd.DataFrame:
    data = mfx.datasets.load("sleepstudy")
    return data.assign(b=data["Days"] > 4, Days1=data["Days"] + 1)


def fit_quietly(formula: str, data: pd.DataFrame) -> mfx.LinearMixedModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        return mfx.lmer(formula, data)


def assert_same_fit(a: mfx.LinearMixedModel, b: mfx.LinearMixedModel) -> None:
    assert a.objective == pytest.approx(b.objective, rel=1e-10)
    np.testing.assert_allclose(a.fixef.to_numpy(), b.fixef.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-8)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_matches_lme4(name: str) -> None:
    ref = REFERENCE[name]
    fit = fit_quietly(ref["formula"], sleep())
    assert fit.objective == pytest.approx(ref["reml"], abs=1e-6)
    np.testing.assert_allclose(fit.theta, np.atleast_1d(ref["theta"]), atol=1e-4)
    assert list(fit.fixef.index) == list(ref["fixef"])
    np.testing.assert_allclose(fit.fixef, list(ref["fixef"].values()), rtol=1e-6)
    ranef = next(iter(fit.ranef.values()))
    assert list(ranef.columns) == list(np.atleast_1d(ref["ranef_columns"]))


def test_left_hand_side_is_arithmetic() -> None:
    data = sleep()
    base = mfx.lmer("Reaction ~ Days + (Days | Subject)", data)
    for lhs, scale, shift in [
        ("Reaction*2", 2, 0),
        ("Reaction - 1", 1, -1),
        ("Reaction/10", 0.1, 0),
    ]:
        fit = mfx.lmer(f"{lhs} ~ Days + (Days | Subject)", data)
        np.testing.assert_allclose(fit.fixef, base.fixef * scale + [shift, 0], rtol=1e-7)
        np.testing.assert_allclose(fit.fitted, base.fitted * scale + shift, rtol=1e-7)


RENAMED = {"Reaction": "reac.time", "Days": "days.since", "Subject": "subj.id"}


@pytest.mark.parametrize(
    ("formula", "names", "plain"),
    [
        (
            "reac.time ~ days.since + (days.since | subj.id)",
            RENAMED,
            "Reaction ~ Days + (Days | Subject)",
        ),
        (
            "reac.time ~ `days.since` + (`days.since` | `subj.id`)",
            RENAMED,
            "Reaction ~ Days + (Days | Subject)",
        ),
        (
            "log(reac.time) ~ log(days.since + 1) + I(days.since^2) + (1 | subj.id)",
            RENAMED,
            "log(Reaction) ~ log(Days + 1) + I(Days^2) + (1 | Subject)",
        ),
        (
            "reac.time ~ days.since + (days.since || subj.id)",
            RENAMED,
            "Reaction ~ Days + (Days || Subject)",
        ),
        (
            "réaction ~ größe + (größe | gruppé)",
            {"Reaction": "réaction", "Days": "größe", "Subject": "gruppé"},
            "Reaction ~ Days + (Days | Subject)",
        ),
        (
            "`re action` ~ `days since` + (`days since` || `sub-ject`)",
            {"Reaction": "re action", "Days": "days since", "Subject": "sub-ject"},
            "Reaction ~ Days + (Days || Subject)",
        ),
        (
            "I(`re action` / 10) ~ np.log(`days since` + 1) + (1 | `sub-ject`)",
            {"Reaction": "re action", "Days": "days since", "Subject": "sub-ject"},
            "I(Reaction / 10) ~ np.log(Days + 1) + (1 | Subject)",
        ),
    ],
)
def test_column_names_from_r(formula: str, names: dict[str, str], plain: str) -> None:
    data = sleep()
    renamed = data.rename(columns=names)
    fit, base = mfx.lmer(formula, renamed), mfx.lmer(plain, data)
    assert_same_fit(fit, base)
    np.testing.assert_allclose(fit.predict(renamed.iloc[::7]), base.predict(data.iloc[::7]))
    assert list(fit.ngroups.values()) == [18] * len(fit.ngroups)
    assert renamed.columns.tolist() == list(map(lambda c: names.get(c, c), data.columns))


def test_dotted_names_keep_their_spelling() -> None:
    fit = mfx.lmer(
        "reac.time ~ days.since + (days.since | subj.id)", sleep().rename(columns=RENAMED)
    )
    assert list(fit.fixef.index) == ["(Intercept)", "days.since"]
    assert list(fit.ranef) == ["subj.id"]
    assert list(fit.ranef["subj.id"].columns) == ["(Intercept)", "days.since"]


@pytest.mark.parametrize(
    ("formula", "plain", "groups"),
    [
        (
            "Reaction ~ Days + (1 | factor(Subject))",
            "Reaction ~ Days + (1 | Subject)",
            ["factor(Subject)"],
        ),
        ("Reaction ~ Days + ((1 | Subject))", "Reaction ~ Days + (1 | Subject)", ["Subject"]),
        (
            "Reaction ~ Days + ((1 | Subject) + (0 + Days | Subject))",
            "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)",
            ["Subject", "Subject.1"],
        ),
        ("Reaction ~ (((1 | Subject))) + Days", "Reaction ~ Days + (1 | Subject)", ["Subject"]),
        ("Reaction ~ 1 + Days | Subject", "Reaction ~ (Days | Subject)", ["Subject"]),
    ],
)
def test_bar_terms_written_as_lme4_accepts(formula: str, plain: str, groups: list[str]) -> None:
    fit, base = mfx.lmer(formula, sleep()), mfx.lmer(plain, sleep())
    assert_same_fit(fit, base)
    assert list(dict.fromkeys(fit.varcorr["group"]))[:-1] == groups


def test_dot_is_every_column_but_the_response_and_grouping_factors() -> None:
    data = sleep()[["Reaction", "Days", "Subject"]].assign(**{"z.1": np.sin(np.arange(180))})
    fit = mfx.lmer("Reaction ~ . + (1 | Subject)", data)
    assert_same_fit(fit, mfx.lmer("Reaction ~ Days + z.1 + (1 | Subject)", data))
    assert list(fit.fixef.index) == ["(Intercept)", "Days", "z.1"]
    interactions = mfx.lmer("Reaction ~ .^2 + (1 | Subject)", data)
    assert list(interactions.fixef.index) == ["(Intercept)", "Days", "z.1", "Days:z.1"]


def test_dot_in_lm_is_every_column_but_the_response_as_r() -> None:
    # R: coef(lm(Reaction ~ ., sleepstudy))[1:3]: 295.03104, 10.46729, -126.90085
    fit = mfx.lm("Reaction ~ .", sleep()[["Reaction", "Days", "Subject"]])
    assert len(fit.coef) == 19
    np.testing.assert_allclose(fit.coef.iloc[:3], [295.03104, 10.46729, -126.90085], atol=1e-5)
    np.testing.assert_allclose(fit.coef["Days"], 10.467285959596, rtol=1e-10)


def test_logical_predictor_predicts_from_booleans() -> None:
    data = sleep()
    fit = mfx.lmer("Reaction ~ b + (1 | Subject)", data)
    as_number = mfx.lmer("Reaction ~ bn + (1 | Subject)", data.assign(bn=data["b"].astype(float)))
    assert fit.objective == pytest.approx(as_number.objective, rel=1e-10)
    np.testing.assert_allclose(fit.predict(data), fit.fitted, rtol=1e-12)
    nullable = data.assign(b=data["b"].astype("boolean"))
    np.testing.assert_allclose(fit.predict(nullable), fit.fitted, rtol=1e-12)
    assert data["b"].dtype == bool  # the caller's frame is untouched


def test_logical_inside_an_expression_is_a_number() -> None:
    data = sleep()
    fit = mfx.lmer("Reaction ~ I(b * 2) + (1 | Subject)", data)
    assert list(fit.fixef.index) == ["(Intercept)", "I(b * 2)"]
    assert fit.fixef["I(b * 2)"] == pytest.approx(53.7554255555555 / 2, rel=1e-7)


@pytest.mark.parametrize("dtype", ["string", "str", object, "category"])
def test_text_columns_of_any_dtype_are_categorical(dtype: object) -> None:
    data = sleep()
    data = data.assign(f=np.where(data["Days"] > 4, "late", "early"), g=data["Subject"].astype(str))
    typed = data.astype({"f": dtype, "g": dtype})
    base = mfx.lmer("Reaction ~ f + (1 | g)", data)
    fit = mfx.lmer("Reaction ~ f + (1 | g)", typed)
    assert_same_fit(fit, base)
    assert list(fit.fixef.index) == ["(Intercept)", "flate"]
    np.testing.assert_allclose(fit.predict(typed.iloc[:30]), base.fitted[:30], rtol=1e-12)
    ols = mfx.lm("Reaction ~ f", typed)
    np.testing.assert_allclose(ols.predict(typed.iloc[:5]), ols.fitted[:5], rtol=1e-12)
