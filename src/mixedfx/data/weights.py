"""Stage 2b: values per row given beside the formula, prior weights and an offset array.

lme4's ``lmer(..., weights = w, offset = o)``: row i's residual variance is σ²/w_i, and o_i
is added to its linear predictor.  Either is a column name or an array aligned with the
caller's rows.  An offset named by its column is a formula term like ``offset(o)`` (so new
data supply it, `with_offset_column`); an array offset and the weights are read here, before
the frame removes rows, so that the frame can keep the values of the rows it keeps.

Weights must be finite and non-negative (a `DataError` names the first bad row).  A weight
of 0 takes the row out of the likelihood: lme4 keeps such rows and returns a log-likelihood
of −∞ (its Σ log wᵢ term) and estimates that did not move from their start; mixedfx leaves
the rows out, counts them and warns (`mixedfx.data.frame.model_frame`).  A missing offset
value makes the row incomplete, as lme4's ``na.action`` does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mixedfx.data.frame import RowArguments, check_columns
from mixedfx.errors import DataError
from mixedfx.formula import MixedFormula

RowValues = str | np.ndarray | pd.Series | list[float] | None


def row_arguments(data: pd.DataFrame, weights: RowValues, offset: RowValues) -> RowArguments:
    """Read `weights` and an array `offset` against the caller's `data`.

    Parameters
    ----------
    data
        The caller's data frame (N rows); not modified.
    weights
        A column of `data`, an array of N numbers in `data`'s row order (a Series must have
        `data`'s index), or None.
    offset
        An array of N numbers as `weights`, or None; a column name is a formula term instead
        (`with_offset_column`).

    Raises
    ------
    DataError, UnknownColumnError
        A named column is missing, a value is not a number, the length is not N, or a weight
        is negative, NaN or infinite.
    """
    w = None if weights is None else _values(data, weights, "weights")
    if w is not None:
        _check_weights(w)
    o = None if offset is None or isinstance(offset, str) else _values(data, offset, "offset")
    if o is not None and np.isinf(o).any():
        raise DataError(
            f"the offset holds infinite values (first at row {_first(np.isinf(o))}); "
            "remove those rows or replace the values"
        )
    label = None if weights is None else weights if isinstance(weights, str) else "(array)"
    return RowArguments(w, o, label)


def with_offset_column(
    formula: MixedFormula, data: pd.DataFrame, offset: RowValues
) -> MixedFormula:
    """`formula` with ``offset(column)`` added when `offset` names a column of `data`, so that
    the frame treats its missing values and new data supply it as for an offset term."""
    if not isinstance(offset, str):
        return formula
    check_columns(data, [offset], "data")
    name = offset if offset.isidentifier() else f"`{offset}`"
    return replace(formula, offset=(*formula.offset, name))


def _values(data: pd.DataFrame, given: object, what: str) -> np.ndarray:
    """`given` (a column name or array-like) as a float array of shape (N,)."""
    if isinstance(given, str):
        check_columns(data, [given], "data")
        given = data[given]
    elif isinstance(given, pd.Series) and not given.index.equals(data.index):
        raise DataError(
            f"the {what} are a Series whose index is not the data's, so their rows cannot be "
            f"matched; reindex them to the data (s.reindex(data.index)) or pass s.to_numpy() "
            "for values in the data's row order"
        )
    try:
        if isinstance(given, pd.Series):  # nullable dtypes hold pd.NA, which is not a float
            values = given.to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.asarray(given, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"the {what} must be numbers, one per row of the data") from None
    if values.ndim != 1 or values.shape[0] != len(data):
        raise DataError(
            f"the {what} have shape {values.shape}; they must be one number per row of the "
            f"data ({len(data)} rows), in the data's row order"
        )
    return values.copy()


def _check_weights(w: np.ndarray) -> None:
    for bad, what in (
        (np.isnan(w), "missing (NaN)"),
        (np.isinf(w), "infinite"),
        (w < 0, "negative"),
    ):
        if bad.any():
            raise DataError(
                f"{int(bad.sum())} prior weight(s) are {what} (first at row {_first(bad)}); "
                "weights are inverse variances, finite and ≥ 0 (0 leaves a row out)"
            )


def _first(where: np.ndarray) -> int:
    return int(np.flatnonzero(where)[0])
