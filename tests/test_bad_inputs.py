"""Bad formulas and data through the Python API: each gives a mixedfx error naming the problem.

No input here may end in a raw numpy, scipy, pandas or formulaic exception, and none may
change the caller's data frame.  Inputs that lme4 reads (numbers stored as objects, dates
as grouping factors, ...) are at the end, checked against the plainly written fit.
"""

from __future__ import annotations

import datetime
import decimal
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedfx as mfx
from mixedfx.errors import (
    DataError,
    FormulaError,
    IdentifiabilityError,
    MixedFxError,
    NewLevelError,
    UnknownColumnError,
)

SLEEP = mfx.datasets.load("sleepstudy")
N = len(SLEEP)
DAY = pd.Timestamp("2020-01-01")


def sleep(**columns: object) -> pd.DataFrame:
    return SLEEP.assign(**columns)


def days_where_3(value: float) -> np.ndarray:
    return np.where(SLEEP["Days"] == 3, value, SLEEP["Days"])


# id: (formula, error, what the message must say)
BAD_FORMULAS: dict[str, tuple[object, type[MixedFxError], str]] = {
    "number": (123, FormulaError, "must be a string, got int"),
    "none": (None, FormulaError, "must be a string, got NoneType"),
    "list": (["Reaction ~ Days"], FormulaError, "must be a string, got list"),
    "bytes": (b"Reaction ~ Days + (1|Subject)", FormulaError, "must be a string, got bytes"),
    "empty": ("", FormulaError, "no '~'"),
    "no tilde": ("Reaction Days + (1|Subject)", FormulaError, "no '~'"),
    "no response": ("~ Days + (1|Subject)", FormulaError, "no response"),
    "two tildes": ("Reaction ~ Days ~ Days + (1|Subject)", FormulaError, "more than one '~'"),
    "no bar": ("Reaction ~ Days", DataError, "no random-effects term"),
    "empty right-hand side": ("Reaction ~ ", DataError, "no random-effects term"),
    "bar without group": ("Reaction ~ Days + (1|)", FormulaError, "needs a grouping factor"),
    "bar without expression": ("Reaction ~ Days + (|Subject)", FormulaError, "expression"),
    "unclosed": ("Reaction ~ Days + (1|Subject", FormulaError, "unclosed '\\('"),
    "unmatched": ("Reaction ~ Days) + (1|Subject)", FormulaError, "unmatched '\\)'"),
    "bar in a bar": ("Reaction ~ (1 + (1|Subject)|Subject)", FormulaError, "another bar"),
    "bar after bars": ("Reaction ~ (1|Subject) | Subject", FormulaError, "another bar"),
    "two bars unparenthesised": ("Reaction ~ Days | Subject | Days", FormulaError, "not a column"),
    "nested without inner": ("Reaction ~ (1|Subject/)", FormulaError, "not a column name"),
    "grouping by a call": ("Reaction ~ Days + (1|log(Subject))", FormulaError, "not a column"),
    "subtracted bar": ("Reaction ~ Days - (1|Subject)", FormulaError, "cannot be subtracted"),
    "subtracted offset": ("Reaction ~ Days - offset(Days) + (1|Subject)", FormulaError, "offset"),
    "empty offset": ("Reaction ~ offset() + (1|Subject)", FormulaError, "offset\\(\\) needs"),
    "term without columns": ("Reaction ~ Days + (0|Subject)", FormulaError, "has no columns"),
    "operator soup": ("Reaction ~ Days +* Days + (1|Subject)", FormulaError, "incorrectly used"),
    "unclosed backtick": ("Reaction ~ `Days + (1|Subject)", FormulaError, "quote"),
    "string literal": ("Reaction ~ 'Days' + (1|Subject)", FormulaError, "String literals"),
    "unknown function": ("Reaction ~ nofunc(Days) + (1|Subject)", FormulaError, "nofunc"),
    "unknown function on the left": (
        "nofunc(Reaction) ~ (1|Subject)",
        FormulaError,
        "nofunc",
    ),
    "cbind on the left: a binomial response": (
        "cbind(Reaction, Days) ~ (1|Subject)",
        DataError,
        "binomial",
    ),
    "text in arithmetic on the left": ("Reaction + Subject ~ (1|Subject)", FormulaError, "\\+"),
    "categorical response expression": (
        "C(Subject) ~ Days + (1|Subject)",
        DataError,
        "one numeric column, got 18",
    ),
    "unknown fixed column": ("Reaction ~ Dayz + (1|Subject)", UnknownColumnError, "'Dayz'"),
    "unknown response": ("Reaktion ~ Days + (1|Subject)", UnknownColumnError, "'Reaktion'"),
    "unknown grouping column": ("Reaction ~ Days + (1|Subj)", UnknownColumnError, "'Subj'"),
    "unknown slope column": ("Reaction ~ Days + (Dayz|Subject)", UnknownColumnError, "'Dayz'"),
    "unknown dotted column": ("Reaction ~ days.since + (1|Subject)", UnknownColumnError, "days"),
    "unknown offset column": ("Reaction ~ offset(o) + (1|Subject)", UnknownColumnError, "'o'"),
    "log of zero": ("Reaction ~ log(Days) + (1|Subject)", DataError, "'log\\(Days\\)'.*infinite"),
    "division by zero": ("Reaction ~ I(Days/0) + (1|Subject)", DataError, "null values"),
    "overflow": ("Reaction ~ I(1e400*Days) + (1|Subject)", DataError, "null values"),
    "grouping as many as rows": ("Reaction ~ (1|Subject:Days)", DataError, "180 levels for 180"),
    "categorical slope with too many effects": (
        "Reaction ~ (factor(Days)|Subject)",
        IdentifiabilityError,
        "180 random effects for 180 observations",
    ),
    "megabyte expression": (
        "Reaction ~ I(" + "+".join(["Days"] * 200_000) + ") + (1|Subject)",
        FormulaError,
        "1,000,027 characters, more than 100,000",
    ),
    "deep parentheses": (
        "Reaction ~ " + "(" * 500 + "Days" + ")" * 500 + " + (1|Subject)",
        FormulaError,
        "nested too deeply",
    ),
    "deep parentheses in I()": (
        "Reaction ~ I(" + "(" * 500 + "Days" + ")" * 500 + ") + (1|Subject)",
        FormulaError,
        "nested parentheses",
    ),
}


@pytest.mark.parametrize(("formula", "error", "message"), BAD_FORMULAS.values(), ids=BAD_FORMULAS)
def test_bad_formula(formula: object, error: type[MixedFxError], message: str) -> None:
    data = SLEEP.copy()
    with pytest.raises(error, match=message) as info:
        mfx.lmer(formula, data)  # type: ignore[arg-type]
    assert len(str(info.value).splitlines()[0]) < 400
    pd.testing.assert_frame_equal(data, SLEEP)


# id: (formula, data, error, what the message must say)
BAD_DATA: dict[str, tuple[str, Callable[[], object], type[MixedFxError], str]] = {
    "none": ("Reaction ~ Days + (1|Subject)", lambda: None, DataError, "got NoneType"),
    "numpy array": ("Reaction ~ Days + (1|Subject)", SLEEP.to_numpy, DataError, "got ndarray"),
    "list of records": (
        "Reaction ~ Days + (1|Subject)",
        lambda: SLEEP.to_dict("records"),
        DataError,
        "got list",
    ),
    "series": ("Reaction ~ Days + (1|Subject)", lambda: SLEEP["Days"], DataError, "got Series"),
    "file name": ("Reaction ~ Days + (1|Subject)", lambda: "sleepstudy.csv", DataError, "got str"),
    "ragged dict": (
        "Reaction ~ Days + (1|Subject)",
        lambda: {"Reaction": [1.0, 2.0], "Days": [1], "Subject": ["a", "b"]},
        DataError,
        "same length",
    ),
    "no rows": ("Reaction ~ Days + (1|Subject)", lambda: SLEEP.iloc[:0], DataError, "no rows"),
    "no columns": (
        "Reaction ~ Days + (1|Subject)",
        pd.DataFrame,
        UnknownColumnError,
        "has 0 columns \\[\\]",
    ),
    "numbered columns": (
        "Reaction ~ Days + (1|Subject)",
        lambda: pd.DataFrame(SLEEP.to_numpy()),
        UnknownColumnError,
        "has 3 columns \\[.0., .1., .2.\\]",
    ),
    "response all missing": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=np.nan),
        DataError,
        "no rows left",
    ),
    "grouping column all missing": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Subject=None),
        DataError,
        "no rows left",
    ),
    "predictor all missing": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=np.nan),
        DataError,
        "no rows left",
    ),
    "response text": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=SLEEP["Reaction"].astype(str)),
        DataError,
        "response 'Reaction' must be numeric",
    ),
    "response categorical": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=SLEEP["Reaction"].astype("category")),
        DataError,
        "must be numeric",
    ),
    "one level": ("Reaction ~ Days + (1|g)", lambda: sleep(g="a"), DataError, "only 1 level"),
    "too few observations": (
        "Reaction ~ Days + (1|Subject)",
        lambda: SLEEP.iloc[[0, 10]],
        DataError,
        "2 levels for 2 observations",
    ),
    "grouping column of lists": (
        "Reaction ~ Days + (1|g)",
        lambda: sleep(g=[[i % 3] for i in range(N)]),
        DataError,
        "column 'g' holds list values",
    ),
    "predictor of lists": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=[[i] for i in range(N)]),
        DataError,
        "column 'x' holds list values",
    ),
    "predictor of dicts": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=[{"a": i} for i in range(N)]),
        DataError,
        "column 'x' holds dict values",
    ),
    "predictor of arrays": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=[np.zeros(2)] * N),
        DataError,
        "column 'x' holds ndarray values",
    ),
    "complex predictor": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=SLEEP["Days"] + 1j),
        DataError,
        "'x' holds complex numbers",
    ),
    "complex response": (
        "y ~ Days + (1|Subject)",
        lambda: sleep(y=SLEEP["Reaction"] + 1j),
        DataError,
        "'y' holds complex numbers",
    ),
    "datetime predictor": (
        "Reaction ~ t + (1|Subject)",
        lambda: sleep(t=DAY + pd.to_timedelta(SLEEP["Days"], unit="D")),
        DataError,
        "convert t to numeric",
    ),
    "datetime predictor with time zone": (
        "Reaction ~ t + (1|Subject)",
        lambda: sleep(t=(DAY + pd.to_timedelta(SLEEP["Days"], unit="D")).dt.tz_localize("UTC")),
        DataError,
        "convert t to numeric",
    ),
    "timedelta predictor": (
        "Reaction ~ t + (1|Subject)",
        lambda: sleep(t=pd.to_timedelta(SLEEP["Days"], unit="D")),
        DataError,
        "convert t to numeric",
    ),
    "period predictor": (
        "Reaction ~ t + (1|Subject)",
        lambda: sleep(t=pd.period_range("2020-01", periods=N, freq="M")),
        DataError,
        "convert t to numeric",
    ),
    "date objects as predictor": (
        "Reaction ~ t + (1|Subject)",
        lambda: sleep(t=[datetime.date(2020, 1, 1 + d) for d in SLEEP["Days"]]),
        DataError,
        "convert t to numeric",
    ),
    "datetime in a random slope": (
        "Reaction ~ (t|Subject)",
        lambda: sleep(t=DAY + pd.to_timedelta(SLEEP["Days"], unit="D")),
        DataError,
        "convert t to numeric",
    ),
    "infinite predictor": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=days_where_3(np.inf)),
        DataError,
        "column 'x' holds 18 infinite",
    ),
    "infinite nullable predictor": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=pd.array(days_where_3(np.inf), dtype="Float64")),
        DataError,
        "column 'x' holds 18 infinite",
    ),
    "infinite response": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=np.where(SLEEP["Days"] == 3, -np.inf, SLEEP["Reaction"])),
        DataError,
        "column 'Reaction' holds 18 infinite",
    ),
    "infinite random slope": (
        "Reaction ~ (x|Subject)",
        lambda: sleep(x=days_where_3(np.inf)),
        DataError,
        "column 'x' holds 18 infinite",
    ),
    "infinite offset": (
        "Reaction ~ offset(x) + (1|Subject)",
        lambda: sleep(x=days_where_3(np.inf)),
        DataError,
        "column 'x' holds 18 infinite",
    ),
    "huge predictor": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=SLEEP["Days"] * 1e300),
        DataError,
        "'x' has values of magnitude 9.0e\\+300.*rescale",
    ),
    "huge random slope": (
        "Reaction ~ (x|Subject)",
        lambda: sleep(x=SLEEP["Days"] * 1e300),
        DataError,
        "'x' has values of magnitude 9.0e\\+300.*rescale",
    ),
    "tiny response": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=SLEEP["Reaction"] * 1e-300),
        DataError,
        "'Reaction' has values of magnitude .*e-298.*rescale",
    ),
    "huge response": (
        "Reaction ~ Days + (1|Subject)",
        lambda: sleep(Reaction=SLEEP["Reaction"] * 1e300),
        DataError,
        "'Reaction' has values of magnitude .*e\\+302.*rescale",
    ),
    "duplicate column": (
        "Reaction ~ Days + (1|Subject)",
        lambda: pd.concat([SLEEP, SLEEP[["Days"]]], axis=1),
        DataError,
        "column 'Days' appears twice",
    ),
    "duplicate grouping column": (
        "Reaction ~ Days + (1|Subject)",
        lambda: pd.concat([SLEEP, SLEEP[["Subject"]]], axis=1),
        DataError,
        "column 'Subject' appears twice",
    ),
}


@pytest.mark.parametrize(("formula", "make", "error", "message"), BAD_DATA.values(), ids=BAD_DATA)
def test_bad_data(
    formula: str, make: Callable[[], object], error: type[MixedFxError], message: str
) -> None:
    data = make()
    before = data.copy() if isinstance(data, pd.DataFrame) else None
    with pytest.raises(error, match=message):
        mfx.lmer(formula, data)  # type: ignore[arg-type]
    if before is not None:
        assert isinstance(data, pd.DataFrame)
        pd.testing.assert_frame_equal(data, before)


BAD_LM: dict[str, tuple[object, Callable[[], object], type[MixedFxError], str]] = {
    "bar term": (
        "Reaction ~ Days + (1|Subject)",
        lambda: SLEEP,
        FormulaError,
        "fit it with mixedfx.lmer",
    ),
    "one row": ("Reaction ~ Days", lambda: SLEEP.iloc[:1], DataError, "1 observations"),
    "text response": ("Reaction ~ Days", lambda: sleep(Reaction="a"), DataError, "numeric"),
    "formula not text": (5, lambda: SLEEP, FormulaError, "must be a string"),
    "no response": ("~ Days", lambda: SLEEP, FormulaError, "no response"),
    "no rows": ("Reaction ~ Days", lambda: SLEEP.iloc[:0], DataError, "no rows"),
    "duplicate column": (
        "Reaction ~ Days",
        lambda: pd.concat([SLEEP, SLEEP[["Days"]]], axis=1),
        DataError,
        "appears twice",
    ),
    "lists": ("Reaction ~ x", lambda: sleep(x=[[1]] * N), DataError, "list values"),
    "datetime": ("Reaction ~ t", lambda: sleep(t=DAY), DataError, "convert t to numeric"),
    "infinite": ("Reaction ~ x", lambda: sleep(x=days_where_3(np.inf)), DataError, "infinite"),
}


@pytest.mark.parametrize(("formula", "make", "error", "message"), BAD_LM.values(), ids=BAD_LM)
def test_bad_lm_input(
    formula: object, make: Callable[[], object], error: type[MixedFxError], message: str
) -> None:
    with pytest.raises(error, match=message):
        mfx.lm(formula, make())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fits() -> dict[str, object]:
    late = np.where(SLEEP["Days"] > 4, "late", "early")
    return {
        "lmer": mfx.lmer("Reaction ~ Days + (Days|Subject)", SLEEP),
        "categorical": mfx.lmer("Reaction ~ f + (1|Subject)", sleep(f=late)),
        "lm": mfx.lm("Reaction ~ Days", SLEEP),
    }


BAD_NEW_DATA: dict[str, tuple[str, Callable[[], object], type[MixedFxError], str]] = {
    "missing column": (
        "lmer",
        lambda: SLEEP.drop(columns="Days"),
        UnknownColumnError,
        "\\['Days'\\] .* not in the new data",
    ),
    "missing grouping column": (
        "lmer",
        lambda: SLEEP.drop(columns="Subject"),
        UnknownColumnError,
        "\\['Subject'\\]",
    ),
    "new level": ("lmer", lambda: sleep(Subject="999"), NewLevelError, "\\['999'\\]"),
    "new category": ("categorical", lambda: sleep(f="middle"), NewLevelError, "middle"),
    "numpy array": ("lmer", SLEEP.to_numpy, DataError, "got ndarray"),
    "list": ("lmer", lambda: [1, 2], DataError, "got list"),
    "scalar dict": (
        "lmer",
        lambda: {"Days": 1, "Subject": "308"},
        DataError,
        "scalar values",
    ),
    "text for numbers": ("lmer", lambda: sleep(Days="x"), DataError, "cannot evaluate 'Days'"),
    "dates for numbers": ("lmer", lambda: sleep(Days=DAY), DataError, "convert Days to numeric"),
    "complex for numbers": ("lmer", lambda: sleep(Days=SLEEP["Days"] + 1j), DataError, "complex"),
    "lists": ("lmer", lambda: sleep(Days=[[1]] * N), DataError, "list values"),
    "lists as groups": ("lmer", lambda: sleep(Subject=[[1]] * N), DataError, "list values"),
    "duplicate column": (
        "lmer",
        lambda: pd.concat([SLEEP, SLEEP[["Days"]]], axis=1),
        DataError,
        "appears twice in the new data",
    ),
    "lm missing column": ("lm", lambda: SLEEP.drop(columns="Days"), UnknownColumnError, "Days"),
    "lm text for numbers": ("lm", lambda: sleep(Days="x"), DataError, "cannot evaluate 'Days'"),
    "lm numpy array": ("lm", lambda: np.zeros((3, 2)), DataError, "got ndarray"),
}


@pytest.mark.parametrize(
    ("model", "make", "error", "message"), BAD_NEW_DATA.values(), ids=BAD_NEW_DATA
)
def test_bad_new_data(
    fits, model: str, make: Callable[[], object], error: type[MixedFxError], message: str
) -> None:
    with pytest.raises(error, match=message):
        fits[model].predict(make())


# Inputs lme4 reads: each is fitted as the plainly written model.
ACCEPTED: dict[str, tuple[str, Callable[[], pd.DataFrame]]] = {
    "numbers stored as objects": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=SLEEP["Days"].astype(object)),
    ),
    "decimals": (
        "Reaction ~ x + (1|Subject)",
        lambda: sleep(x=[decimal.Decimal(int(d)) for d in SLEEP["Days"]]),
    ),
    "response stored as objects": (
        "y ~ Days + (1|Subject)",
        lambda: sleep(y=SLEEP["Reaction"].astype(object)),
    ),
    "dates as grouping factor": (
        "Reaction ~ Days + (1|t)",
        lambda: sleep(t=DAY + pd.to_timedelta(SLEEP["Subject"].astype(int), unit="D")),
    ),
    "unused duplicate columns": (
        "Reaction ~ Days + (1|Subject)",
        lambda: pd.concat([SLEEP, sleep(z=1.0)[["z"]], sleep(z=2.0)[["z"]]], axis=1),
    ),
    "duplicate row labels": ("Reaction ~ Days + (1|Subject)", lambda: SLEEP.set_axis([0] * N)),
    "line breaks": ("Reaction ~ Days +\n\t(1 | Subject)", lambda: SLEEP),
    "column named like a function": (
        "Reaction ~ abs + (1|Subject)",
        lambda: sleep(abs=SLEEP["Days"]),
    ),
}


@pytest.mark.parametrize(("formula", "make"), ACCEPTED.values(), ids=ACCEPTED)
def test_inputs_read_as_lme4_reads_them(formula: str, make: Callable[[], pd.DataFrame]) -> None:
    base = mfx.lmer("Reaction ~ Days + (1|Subject)", SLEEP)
    data = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = mfx.lmer(formula, data)
    assert fit.objective == pytest.approx(base.objective, rel=1e-10)
    np.testing.assert_allclose(fit.fixef.to_numpy(), base.fixef.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(fit.predict(data), base.fitted, rtol=1e-9)


def test_empty_new_data_predicts_nothing(fits) -> None:
    assert fits["lmer"].predict(SLEEP.iloc[:0]).shape == (0,)


def test_response_on_the_right_is_dropped_with_rs_warning() -> None:
    # R: coef(lm(Reaction ~ Reaction + Days, sleepstudy)) is 251.40510, 10.46729, with the
    # warning "the response appeared on the right-hand side and was dropped"; lmer the same.
    for fit in (
        mfx.lmer("Reaction ~ Reaction + Days + (1|Subject)", SLEEP),
        mfx.lm("Reaction ~ Reaction + Days", SLEEP),
    ):
        np.testing.assert_allclose(fit.fixef, [251.4051048, 10.46728596], rtol=1e-8)
    with pytest.warns(mfx.MixedFxWarning, match="response appeared on the right-hand side"):
        fit = mfx.lmer("log(Reaction) ~ log(Reaction) + Days + (1|Subject)", SLEEP)
    assert list(fit.fixef.index) == ["(Intercept)", "Days"]


def test_dot_needs_the_columns() -> None:
    with pytest.raises(FormulaError, match="stands for the data's columns"):
        mfx.parse_formula("y ~ . + (1 | g)")


TOKENS = [
    *("Reaction", "Days", "Subject", "d.x", "`d.x`", "b", "~", "+", "-", "*", "/", ":", "|"),
    *("||", "(", ")", "1", "0", "2", "log(", "I(", "offset(", "factor(", "C(", ".", "^", ","),
    *("np.log(", "scale(", " ", "`", "'", "**", "%in%", "=", "[", "]", "1e-3", "nan", "inf"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join),
    st.booleans(),
    st.booleans(),
)
def test_any_formula_fits_or_names_its_problem(rhs: str, response: bool, bar: bool) -> None:
    formula = ("Reaction ~ " if response else "") + rhs + (" + (1|Subject)" if bar else "")
    data = SLEEP.assign(**{"d.x": SLEEP["Days"] * 1.5, "b": SLEEP["Days"] > 3})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            mfx.lmer(formula, data)
        except MixedFxError as exc:
            assert str(exc).strip()


@pytest.mark.parametrize(
    ("nullable", "plain"),
    [
        (pd.array([1, None, 3, 4, 5, 6] * 30, dtype="Int64"), [1, np.nan, 3, 4, 5, 6] * 30),
        (pd.array([0.5, None, 3.0] * 60, dtype="Float64"), [0.5, np.nan, 3.0] * 60),
        (pd.array([True, None, False] * 60, dtype="boolean"), [True, None, False] * 60),
    ],
    ids=["Int64", "Float64", "boolean"],
)
def test_nullable_columns_with_missing_values(nullable: object, plain: list[object]) -> None:
    expected = [
        mfx.lmer(f, sleep(x=pd.Series(plain, dtype=object), g=plain))
        for f in ("Reaction ~ x + (1|Subject)", "Reaction ~ Days + (1|g)")
    ]
    for formula, want in zip(("Reaction ~ x + (1|Subject)", "Reaction ~ Days + (1|g)"), expected):
        with pytest.warns(mfx.MissingValuesWarning, match="60 of 180 rows|30 of 180 rows"):
            fit = mfx.lmer(formula, sleep(x=nullable, g=nullable))
        assert fit.objective == pytest.approx(want.objective, rel=1e-10)
        assert list(fit.fixef.index) == list(want.fixef.index)
