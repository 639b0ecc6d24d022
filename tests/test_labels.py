"""Grouping levels and error messages stay in proportion to the data.

Level labels are kept as Python strings, never as fixed-width numpy text (which stores each
label at the longest one's width), and messages quote bounded excerpts of what they name.
"""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.errors import MESSAGE_LIMIT

LONG = 5_000_000  # characters in each of the two long labels


def long_label_data(n: int = 400, groups: int = 20) -> pd.DataFrame:
    """`groups` short labels, and two 5 MB ones of a row each; y depends on the group."""
    rng = np.random.default_rng(7)
    g = np.array([f"g{i % groups}" for i in range(n)], dtype=object)
    g[0], g[1] = "a" * LONG, "b" * LONG
    effect = rng.normal(0, 1, groups)[np.arange(n) % groups]
    x = rng.normal(size=n)
    return pd.DataFrame({"y": 1 + 0.5 * x + effect + rng.normal(0, 0.5, n), "x": x, "g": g})


def test_long_labels_cost_memory_in_proportion_to_the_file() -> None:
    """A 10 MB CSV with two 5 MB labels among 22 groups; fixed-width labels took 440 MB."""
    text = long_label_data().to_csv(index=False)
    assert 10e6 <= len(text) <= 10.1e6
    data = pd.read_csv(io.StringIO(text))
    tracemalloc.start()
    try:
        fit = mfx.lmer("y ~ x + (1 | g)", data)
        predicted = fit.predict(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(text)
    assert fit.design.terms[0].nlevels == 22
    assert sorted(len(label) for label in fit.ranef["g"].index)[-2:] == [LONG, LONG]
    np.testing.assert_allclose(predicted, fit.fitted, rtol=1e-12)


def test_long_labels_give_the_fit_of_short_ones() -> None:
    """Relabelling the levels changes nothing but the labels (an invariant of the model)."""
    data = long_label_data(n=200, groups=10)
    short = data.assign(g=data["g"].str.slice(0, 3))
    fit_long = mfx.lmer("y ~ x + (1 | g)", data)
    fit_short = mfx.lmer("y ~ x + (1 | g)", short)
    assert fit_long.loglik == pytest.approx(fit_short.loglik, rel=1e-12)
    np.testing.assert_allclose(
        np.sort(fit_long.ranef["g"].to_numpy().ravel()),
        np.sort(fit_short.ranef["g"].to_numpy().ravel()),
        rtol=1e-9,
    )


def test_a_new_long_level_is_quoted_briefly() -> None:
    data = long_label_data(n=200, groups=10)
    fit = mfx.lmer("y ~ x + (1 | g)", data)
    new = data.iloc[:2].assign(g=["c" * LONG, "d" * LONG])
    with pytest.raises(mfx.NewLevelError, match="allow_new_levels") as info:
        fit.predict(new)
    assert len(str(info.value)) < 500


def grouped(values: list[object]) -> pd.DataFrame:
    """Six rows per value; y has a random effect per printed value."""
    rng = np.random.default_rng(3)
    n = len(values) * 6
    labels = sorted({str(v) for v in values})
    effect = dict(zip(labels, rng.normal(0, 3, len(labels))))
    y = np.array([effect[str(v)] for v in values * 6]) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"y": y, "x": rng.normal(size=n), "g": pd.Series(values * 6, dtype=object)})


def test_one_and_text_one_are_one_level_as_in_r() -> None:
    """R's ``factor(c(1, "1", 2, "2"))`` has levels "1", "2": a column of mixed types is
    read as R reads it, as text.  (R: ``levels(factor(data.frame(g = c(1, "1", 2, "2"))$g))``.)
    """
    mixed = grouped([1, "1", 2, "2", 3, "3"])
    text = mixed.assign(g=mixed["g"].map(str))
    fit_mixed = mfx.lmer("y ~ x + (1 | g)", mixed)
    fit_text = mfx.lmer("y ~ x + (1 | g)", text)
    assert fit_mixed.design.terms[0].factor.levels == ("1", "2", "3")
    assert fit_mixed.loglik == fit_text.loglik
    assert list(fit_mixed.ranef["g"].index) == ["1", "2", "3"]


def test_categories_that_print_alike_are_one_level() -> None:
    data = grouped([1, "1", 2, 3])
    data["g"] = pd.Categorical(data["g"], categories=[1, "1", 2, 3])
    fit = mfx.lmer("y ~ x + (1 | g)", data)
    assert fit.design.terms[0].factor.levels == ("1", "2", "3")
    assert np.bincount(fit.design.terms[0].factor.refs).tolist() == [12, 6, 6]


def test_number_labels_are_written_as_r_writes_them() -> None:
    """R: ``levels(factor(c(1.5, 2, 1e30, 2)))`` is "1.5" "2" "1e+30"."""
    data = grouped([1.5, 2.0, 1e30, 2.0])
    data["g"] = data["g"].astype(float)
    fit = mfx.lmer("y ~ x + (1 | g)", data)
    assert fit.design.terms[0].factor.levels == ("1.5", "2", "1e+30")


def test_unknown_column_among_a_million_is_a_short_message() -> None:
    columns = [f"c{i}" for i in range(10**6)]
    data = pd.DataFrame(np.zeros((3, len(columns))), columns=columns)
    with pytest.raises(mfx.UnknownColumnError) as info:
        mfx.lmer("y ~ c1 + (1 | c2)", data)
    message = str(info.value)
    assert len(message) < 1000
    assert "['y']" in message and "1000000 columns" in message
    assert "'c0', 'c1'" in message and "… and 999980 more" in message


def test_unknown_column_suggests_the_nearest_spelling() -> None:
    data = mfx.datasets.load("sleepstudy")
    with pytest.raises(mfx.UnknownColumnError, match=r"did you mean 'Days'\?"):
        mfx.lmer("Reaction ~ Dayz + (1 | Subject)", data)


def test_a_huge_unknown_name_is_quoted_briefly() -> None:
    data = mfx.datasets.load("sleepstudy")
    name = "q" * 20_000
    with pytest.raises(mfx.UnknownColumnError) as info:
        mfx.lmer(f"Reaction ~ {name} + (1 | Subject)", data)
    assert len(str(info.value)) < 1000


def test_a_huge_formula_is_shown_around_the_caret() -> None:
    formula = "y ~ " + "x + " * 24_000 + "(1 | g"
    with pytest.raises(mfx.FormulaError) as info:
        mfx.parse_formula(formula)
    lines = str(info.value).splitlines()
    assert len(str(info.value)) <= MESSAGE_LIMIT
    assert lines[1].endswith("x + (1 | g") and lines[2].index("^") == lines[1].index("(1 | g")
