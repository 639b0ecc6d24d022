"""The direct build of plain model-matrix columns equals formulaic's, names and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixedfx.data.columns import build_columns, evaluate, plain_columns

DATA = pd.DataFrame(
    {
        "x": [0.5, 1.5, -2.0, 3.25, 4.0, 7.5],
        "k": np.array([1, 2, 3, 5, 8, 13], dtype=np.int64),
        "u": np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8),
        "n": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
        "flag": [True, False, True, True, False, False],
        "g": ["a", "b", "a", "c", "b", "c"],
        "a b": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


@pytest.mark.parametrize(
    "formula", ["1", "x", "0 + x", "k + x", "x + k - 1", "u + n", "1 + x + k", "`a b` + x"]
)
def test_plain_columns_equal_formulaic(formula: str) -> None:
    plain = plain_columns(formula, DATA)
    assert plain is not None
    mm = evaluate(formula, DATA)
    assert plain[1] == tuple(map(str, mm.columns))
    np.testing.assert_array_equal(plain[0], np.asarray(mm, dtype=float))


@pytest.mark.parametrize("formula", ["g", "flag", "x:k", "np.log(k)", "C(k)", "x + g", "I(x**2)"])
def test_other_parts_are_left_to_formulaic(formula: str) -> None:
    assert plain_columns(formula, DATA) is None
    columns = build_columns(formula, DATA)
    np.testing.assert_array_equal(columns.matrix, np.asarray(evaluate(formula, DATA), float))


def test_spec_of_plain_columns_encodes_new_data() -> None:
    columns = build_columns("1 + x + k", DATA)
    new = pd.DataFrame({"x": [2.0, -1.0], "k": [4, 0]})
    encoded = np.asarray(columns.spec.get_model_matrix(new), dtype=float)
    np.testing.assert_array_equal(encoded, [[1.0, 2.0, 4.0], [1.0, -1.0, 0.0]])
