"""Stage 2, frame: the columns a formula uses, with incomplete rows removed and counted.

The caller's data frame is never modified: the frame holds a copy of the used columns only.
Columns are checked here, where the message can name them (a column appearing twice here,
what the values are in `mixedfx.data.scan`), and typed as R reads them.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from formulaic.parser.types import Factor

from mixedfx.data.scan import check_finite, check_kinds, logical_columns, model_types, scan_columns
from mixedfx.errors import DataError, MissingValuesWarning, UnknownColumnError, ZeroWeightsWarning
from mixedfx.formula import MixedFormula
from mixedfx.formula.rsyntax import CONTEXT_NAMES, expression_variables, parsed
from mixedfx.messages import nearest, quote, quote_list


@dataclass(frozen=True)
class ModelFrame:
    """The rows and columns a model is fitted to.

    Attributes
    ----------
    data
        Copy of the used columns, complete rows only, index reset to 0..n-1; logical columns
        as R factors and ``string`` columns as text (`model_types`).
    rows
        Shape (n,): positions (0-based) of the kept rows in the caller's data frame.
    n_dropped
        Number of rows removed because a used variable (or an array offset) was missing.
    logical
        The boolean columns read as factors; new data get the same reading.
    weights
        Shape (n,): the kept rows' prior weights, all > 0; None for unit weights.
    offset
        Shape (n,): the kept rows' array offset (`RowArguments.offset`); None without.
    n_zero_weight
        Number of complete rows left out because their weight is 0.
    weights_label
        The weights' column name, or ``"(array)"``; None without weights.
    """

    data: pd.DataFrame
    rows: np.ndarray
    n_dropped: int
    logical: tuple[str, ...] = ()
    weights: np.ndarray | None = None
    offset: np.ndarray | None = None
    n_zero_weight: int = 0
    weights_label: str | None = None

    @property
    def nobs(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class RowArguments:
    """Prior weights and an array offset, one value per row of the caller's data.

    Attributes
    ----------
    weights
        Shape (N,): finite, ≥ 0; None for unit weights.
    offset
        Shape (N,): NaN where missing; None when no array offset was given.
    weights_label
        How the summary names the weights: the column's name, or ``"(array)"``.
    """

    weights: np.ndarray | None = None
    offset: np.ndarray | None = None
    weights_label: str | None = None

    @property
    def zero_weight(self) -> np.ndarray | None:
        """Shape (N,), bool: the rows of weight 0; None without weights."""
        return None if self.weights is None else self.weights == 0


def used_variables(formula: MixedFormula) -> list[str]:
    """The data columns `formula` reads, in first-use order (response, fixed, random)."""
    response = list(formula_variables(formula.response_term))
    return list(dict.fromkeys(response + predictor_variables(formula, include_random=True)))


def predictor_variables(formula: MixedFormula, *, include_random: bool) -> list[str]:
    """The columns needed to predict: the fixed part's and the offset's, and the random
    terms' if included."""
    names = list(formula_variables(formula.fixed))
    if formula.offset_term is not None:
        names.extend(formula_variables(formula.offset_term))
    for term in formula.random if include_random else ():
        names.extend(formula_variables(term.expr))
        names.extend(term.factors)
    return list(dict.fromkeys(names))


@functools.lru_cache(maxsize=512)
def formula_variables(formula: str) -> tuple[str, ...]:
    """Columns read by a one-sided formula's terms, in order: the names looked up as they
    stand (``days.since``, ``abs``), and the names inside expressions that are not functions
    or modules of the evaluation context (``np``, ``contr``, ``Treatment``).

    Cached per text, as `parsed` is: walking the expressions' syntax trees costs as much as
    the rest of a small model's frame stage."""
    names: list[str] = []
    for term in parsed(formula):
        for factor in term.factors:
            if factor.eval_method == Factor.EvalMethod.LOOKUP:
                names.append(str(factor.expr))
            else:
                found = expression_variables(str(factor.expr))
                names.extend(n for n in found if n not in CONTEXT_NAMES)
    return tuple(dict.fromkeys(names))


@functools.lru_cache(maxsize=512)
def computed_variables(formula: str) -> frozenset[str]:
    """Columns read inside a Python expression of the formula (``I(x*2)``, ``np.log(x)``),
    which see the column's values as they are."""
    return frozenset(
        name
        for term in parsed(formula)
        for factor in term.factors
        if factor.eval_method == Factor.EvalMethod.PYTHON
        for name in expression_variables(str(factor.expr))
    )


def check_columns(data: pd.DataFrame, columns: list[str], role: str) -> None:
    """Raise `UnknownColumnError` naming the columns of `columns` that `data` lacks, the
    nearest spellings of the first, and the columns there are (the first few of many); and
    `DataError` for a column that appears twice."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        close = nearest(missing[0], data.columns)
        hint = f" (did you mean {' or '.join(map(quote, close))}?)" if close else ""
        raise UnknownColumnError(
            f"column(s) {quote_list(missing)} named in the formula are not in the {role}{hint}; "
            f"it has {data.shape[1]} columns {quote_list(data.columns)}"
        )
    if not data.columns.is_unique:
        twice = [c for c in columns if (data.columns == c).sum() > 1]
        if twice:
            raise DataError(
                f"column {twice[0]!r} appears twice in the {role}; rename or drop one of them"
            )


def model_frame(
    formula: MixedFormula, data: object, arguments: RowArguments | None = None
) -> ModelFrame:
    """Select the used columns of `data` and remove rows with a missing value in any of them
    (or in an array offset of `arguments`), and rows of weight 0.

    Raises
    ------
    UnknownColumnError
        A variable the formula names is not a column; the message lists the columns.
    DataError
        `data` is not a data frame, has no rows or no complete rows, a column appears twice,
        or a column holds values a model cannot read (`mixedfx.data.scan`).

    Warns
    -----
    MissingValuesWarning
        When rows were removed, with their number.
    ZeroWeightsWarning
        When rows of weight 0 were left out, with their number.
    """
    data = as_pandas(data)
    given = arguments or RowArguments()
    columns = used_variables(formula)
    check_columns(data, columns, "data")
    if len(data) == 0:
        raise DataError("the data have no rows")
    scan = scan_columns(data, columns)
    grouping = grouping_columns(formula)
    check_kinds(scan, grouping)
    named = columns
    if given.offset is not None:
        scan = replace(scan, complete=scan.complete & ~np.isnan(given.offset))
        named = [*columns, "the offset"]
    n_dropped = len(data) - int(scan.complete.sum())
    if n_dropped == len(data):
        raise DataError(
            f"no rows left after removing {n_dropped} row(s) with missing values in {named}; "
            "check those columns for NaN/None"
        )
    check_finite(scan, grouping)
    if n_dropped:
        warnings.warn(
            f"{n_dropped} of {len(data)} rows had missing values in {named} and were removed",
            MissingValuesWarning,
            stacklevel=3,
        )
    complete = scan.complete & _positive_weights(given, scan.complete)
    kept = _copy_rows(data, columns, complete, len(data) - int(complete.sum()))
    logical = logical_columns(scan, computed_columns(formula))
    typed = model_types(kept, scan, logical, labels_only(formula))
    rows = np.flatnonzero(complete)
    return ModelFrame(
        typed,
        rows,
        n_dropped,
        logical,
        weights=None if given.weights is None else given.weights[rows],
        offset=None if given.offset is None else given.offset[rows],
        n_zero_weight=int(scan.complete.sum()) - rows.size,
        weights_label=given.weights_label,
    )


def _positive_weights(given: RowArguments, complete: np.ndarray) -> np.ndarray | bool:
    """Where the weight is positive (True without weights); warns of the complete rows of
    weight 0, which leave the likelihood (lme4 keeps them and reports a log-likelihood of −∞).

    Raises
    ------
    DataError
        When no complete row has a positive weight.
    """
    zero = given.zero_weight
    if zero is None:
        return True
    count = int((zero & complete).sum())
    if count == int(complete.sum()):
        raise DataError("every complete row has weight 0; a fit needs rows of positive weight")
    if count:
        warnings.warn(
            f"{count} of {int(complete.sum())} complete rows have weight 0 and were left out "
            "of the fit (nobs, the likelihood and the fitted values are of the other rows)",
            ZeroWeightsWarning,
            stacklevel=4,
        )
    return ~zero


def grouping_columns(formula: MixedFormula) -> set[str]:
    """The columns whose interactions are grouping factors."""
    return {f for term in formula.random for f in term.factors}


def labels_only(formula: MixedFormula) -> set[str]:
    """The grouping columns read for nothing else (their values are only labels)."""
    values = set(formula_variables(formula.response_term))
    values.update(predictor_variables(formula, include_random=False))
    values.update(v for term in formula.random for v in formula_variables(term.expr))
    return grouping_columns(formula) - values


def computed_columns(formula: MixedFormula) -> set[str]:
    """The response's columns and those read inside expressions (``I(b * 2)``), which see a
    column's values as they are."""
    parts = [formula.fixed, *(t.expr for t in formula.random)]
    if formula.offset_term is not None:
        parts.append(formula.offset_term)
    computed = set(formula_variables(formula.response_term))
    return computed.union(*(computed_variables(p) for p in parts))


def prediction_rows(
    formula: MixedFormula, frame: ModelFrame, data: object, *, include_random: bool
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of new data that can be predicted, typed as the model frame, and which they
    are: shape (m,) bool, False where a needed value is missing.

    Raises
    ------
    UnknownColumnError, DataError
        A needed column is missing, appears twice or holds values a model cannot read.
    """
    data = as_pandas(data)
    needed = predictor_variables(formula, include_random=include_random)
    check_columns(data, needed, "new data")
    scan = scan_columns(data, needed)
    check_kinds(scan, grouping_columns(formula))
    rows = data.loc[scan.complete, needed].reset_index(drop=True)
    logical = tuple(c for c in frame.logical if c in needed)
    return model_types(rows, scan, logical, labels_only(formula)), scan.complete


def _copy_rows(
    data: pd.DataFrame, columns: list[str], complete: np.ndarray, n_dropped: int
) -> pd.DataFrame:
    """A copy of the used columns' complete rows, indexed 0..n-1.

    When the formula uses every column, a copy of the whole frame is the same; otherwise the
    columns are taken by position.  Both spare pandas' selection by a list of labels, which on
    a small frame costs ten times the copy and three times the `take`.
    """
    every = len(columns) == data.shape[1] and set(columns) == set(data.columns)
    if every:
        kept = data.copy()
    else:
        where = {name: i for i, name in enumerate(data.columns)}
        kept = data.take([where[c] for c in columns], axis=1)
    if n_dropped:
        kept = kept.loc[complete]
    if not kept.index.equals(pd.RangeIndex(len(kept))):
        kept = kept.reset_index(drop=True)
    return kept


def as_pandas(data: object) -> pd.DataFrame:
    """Accept a pandas frame, anything with ``to_pandas()`` (polars, pyarrow), or a dict."""
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except (ValueError, TypeError) as exc:
            raise DataError(f"cannot make a data frame of the dict of columns: {exc}") from None
    raise DataError(
        f"data must be a pandas DataFrame (or polars/pyarrow table, or dict of columns), "
        f"got {type(data).__name__}"
    )
