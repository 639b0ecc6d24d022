"""The safe-formula check refuses every way of making formulaic run code, and passes the
formulas lme4 users write.

The bypass formulas call ``pwned``, a function this module puts among Python's builtins (where
formulaic's evaluation would find it), so a test can tell whether anything was evaluated.
"""

from __future__ import annotations

import builtins
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.formula.safe import check_expression

COLUMNS = ["y", "x", "g", "a", "b", "f", "x two"]

BYPASSES = [
    "y ~ x + I((eval)((input)())) + (1|g)",  # the reported exploit
    "y ~ x + I((pwned)()) + (1|g)",  # a parenthesised callee
    "y ~ I(pwned())",
    "y ~ I((getattr)(x, 'real'))",
    "y ~ I((lambda: pwned())())",
    "y ~ I(x)(x)",
    "y ~ I(`pwned`())",
    "y ~ {pwned()}",
    "y ~ __import__('os')",
    "y ~ __import__('os').system('echo pwned')",
    "y ~ np.random.rand(3)",
    "y ~ np.log.__call__(x)",
    "y ~ C(f, contr.treatment)",
    "y ~ I(x[0])",
    "y ~ I(x[pwned()])",
    'y ~ I(f"{pwned()}")',
    "y ~ I('abc')",
    "y ~ I(b'abc')",
    "y ~ I([pwned() for i in x])",
    "y ~ I({pwned() for i in x})",
    "y ~ I({i: pwned() for i in x})",
    "y ~ I(sum(pwned() for i in x))",
    "y ~ I((z := x))",
    "y ~ I(*x)",
    "y ~ poly(x, **{'degree': 2})",
    "y ~ scale(x, _state=pwned())",
    "y ~ poly(x, pwned())",
    "y ~ poly(x, degree=x)",
    "y ~ poly(x, 10**9)",  # a degree that asks for a billion columns
    "y ~ poly(x, degree=1e9)",
    "y ~ poly(x, 2.5)",
    "y ~ np.log(x, x)",  # numpy's out= argument would write into a column
    "y ~ I(x, x)",
    "y ~ I()",
    "y ~ I(__builtins__)",
    "y ~ I(__FORMULAIC_CONTEXT__)",
    "y ~ I(9**9**9)",  # a power of numbers alone would run for hours
    "y ~ I(x + 9**999999)",
    "y ~ I(pwned if x else x)",
    "y ~ I(x and pwned)",
    "y ~ I(x in x)",
    "y ~ I(x is None)",
    "y ~ I(input)",
    "y ~ I(np)",
    "y ~ exp10(x)",
    "y ~ lag(x)",
    "y ~ hashed(x)",
    "y ~ bs(x)",
    "pwned() ~ x + (1|g)",
    "I((pwned)()) ~ x + (1|g)",
    "y ~ x + (I((pwned)()) | g)",
    "y ~ x + (1 + I(pwned()) || g)",
    "y ~ x + (1 | __class__)",
]

LEGITIMATE = [
    "y ~ x + (1|g)",
    "y ~ I(x^2) + (1|g)",
    "log(y) ~ x + (1|g)",
    "y ~ (1 + x || g)",
    "y ~ x + (1|a/b)",
    "y ~ x + (1|a:b)",
    "y ~ poly(x, 2) + (1|g)",
    "y ~ poly(x, degree=2, raw=True) + (1|g)",
    "y ~ C(f) + (1|g)",
    "y ~ factor(a) + (1|g)",
    "y ~ `x two` + I(`x two`**2) + (1|g)",
    "np.log(y) ~ np.sqrt(abs(x)) + np.exp(x) + np.log1p(abs(x)) + np.abs(x) + (1|g)",
    "y ~ scale(x) + center(x) + scale(x, center=True, scale=False, ddof=0) + (1|g)",
    "y ~ sqrt(abs(x)) + exp(x) + log1p(abs(x)) + expm1(x) + (1|g)",
    "y ~ x * f + (x | g)",
    "y ~ 0 + x + (1|g)",
    "y ~ x - 1 + (1|g)",
    "y ~ I(x > 0) + I(x <= -1.5) + I(x == 2) + I(x != 2) + (1|g)",
    "y ~ I(2**x) + I(x**-0.5) + I(-x) + I(+x) + I(x // 2) + I(x % 2) + I(1e-3 * x) + (1|g)",
    "y ~ offset(x) + (1|g)",
]


@pytest.fixture
def pwned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Calls of ``pwned()`` and ``input()`` from a formula (each would be a code execution)."""
    calls: list[int] = []

    def record(*args: object) -> str:
        calls.append(1)
        return "0"

    monkeypatch.setattr(builtins, "pwned", record, raising=False)
    monkeypatch.setattr(builtins, "input", record)
    return calls


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(10, 1, n),
            "x": rng.normal(0, 1, n),
            "g": np.repeat(np.arange(6), 10),
            "a": np.tile([1, 2, 3], 20),
            "b": np.repeat(["u", "v"], 30),
            "f": np.tile(["p", "q"], 30),
            "x two": rng.normal(0, 1, n),
        }
    )


@pytest.mark.parametrize("formula", BYPASSES)
def test_bypass_attempts_are_refused_before_anything_runs(formula, data, pwned) -> None:
    with pytest.raises(mfx.FormulaError):
        mfx.check_formula(formula, COLUMNS)
    with pytest.raises(mfx.FormulaError):
        mfx.check_formula(formula)  # without the columns: stricter, never looser
    with pytest.raises(mfx.FormulaError):
        mfx.lmer(formula, data, safe=True)
    assert pwned == []


def test_the_bypasses_would_run_without_the_check(data, pwned) -> None:
    """Control: the payloads are live, so the refusals above are what stop them."""
    for formula in ("y ~ x + I((pwned)()) + (1|g)", "y ~ x + I((eval)((input)())) + (1|g)"):
        with pytest.warns(mfx.RankDeficiencyWarning):  # the payload's column is constant
            mfx.lmer(formula, data)
    assert len(pwned) == 2


@pytest.mark.parametrize("formula", ["y ~ I(x.real) + (1|g)", "y ~ I(x.__class__) + (1|g)"])
def test_a_dotted_word_is_a_column_name_never_an_attribute(formula, data, pwned) -> None:
    """As in R, ``x.real`` names a column: it is looked up, so it cannot reach Python's
    attributes.  Unknown, it is refused; present, it is the column's values."""
    with pytest.raises(mfx.FormulaError, match="not a column"):
        mfx.check_formula(formula, COLUMNS)
    with pytest.raises(mfx.MixedFxError):
        mfx.lmer(formula, data, safe=True)
    dotted = formula.split("(")[1].split(")")[0]
    renamed = data.rename(columns={"x": dotted})
    fit = mfx.lmer(formula, renamed, safe=True)
    assert fit.objective == pytest.approx(mfx.lmer("y ~ x + (1|g)", data).objective, rel=1e-12)
    assert pwned == []


@pytest.mark.parametrize("formula", LEGITIMATE)
def test_legitimate_formulas_pass(formula) -> None:
    parsed = mfx.check_formula(formula, COLUMNS)
    assert parsed == mfx.parse_formula(formula)
    mfx.check_formula(formula)  # a formula naming no builtin passes without the columns too


@pytest.mark.parametrize(
    "formula",
    [
        "log(y) ~ x + (1|g)",
        "y ~ poly(x, 2) + C(f) + `x two` + (1 + x || g)",
        "y ~ I(x^2) + scale(x) + `x two` + (1|g)",
    ],
)
def test_a_safe_fit_is_the_same_fit(formula, data) -> None:
    unchecked = mfx.lmer(formula, data)
    checked = mfx.lmer(formula, data, safe=True)
    np.testing.assert_array_equal(checked.fixef.to_numpy(), unchecked.fixef.to_numpy())
    assert checked.loglik == unchecked.loglik


def test_names_must_be_columns_when_the_columns_are_known() -> None:
    with pytest.raises(mfx.FormulaError, match="'z' is not a column"):
        mfx.check_formula("y ~ I(z**2) + (1|g)", COLUMNS)
    # without the columns, a name that is not a builtin may be a column
    mfx.check_formula("y ~ I(z**2) + (1|g)")
    # a column may carry a builtin's name once the columns say so
    mfx.check_formula("y ~ log(input) + (1|g)", [*COLUMNS, "input"])


def test_lm_and_lm_list_check_too(data, pwned) -> None:
    with pytest.raises(mfx.FormulaError, match="not an allowed transform"):
        mfx.lm("y ~ I((pwned)())", data, safe=True)
    with pytest.raises(mfx.FormulaError, match="not an allowed transform"):
        mfx.lm_list("y ~ I((pwned)()) | g", data, safe=True)
    assert pwned == []
    fits = mfx.lm_list("log(y) ~ x | g", data, safe=True)
    assert len(fits.fits) == 6


def test_messages_are_one_line_and_short() -> None:
    long = "y ~ I(" + "x + " * 150 + "pwned())"
    with pytest.raises(mfx.FormulaError) as info:
        mfx.check_formula(long, COLUMNS)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400


def test_deep_expressions_give_a_formula_error_not_a_recursion_error() -> None:
    """The walk is iterative: what Python can parse is checked, what it cannot is refused."""
    check_expression("I(" + "+".join(["x"] * 2_000) + ")", COLUMNS)
    for deep in ("I(" + "+".join(["x"] * 100_000) + ")", "I(" * 1000 + "x" + ")" * 1000):
        with pytest.raises(mfx.FormulaError, match="cannot read"):
            check_expression(deep, COLUMNS)


def test_cli_refuses_the_reported_exploit_without_evaluating(tmp_path: Path, data) -> None:
    """The payload on stdin would create a file if `input()` were ever called."""
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch() or 0\n"
    exploit = "y ~ x + I((eval)((input)())) + (1|g)"
    cli = [sys.executable, "-m", "mixedfx", "fit", exploit, str(path)]
    result = subprocess.run(cli, input=payload, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("mixedfx: error:") and result.stderr.count("\n") == 1
    assert not marker.exists()
    # control: the same payload through the API without the check does run
    api = f"import mixedfx as m, pandas as p; m.lmer({exploit!r}, p.read_csv({str(path)!r}))"
    subprocess.run(
        [sys.executable, "-c", api], input=payload, capture_output=True, text=True, timeout=120
    )
    assert marker.exists()
