"""Model-matrix columns, built directly for the common plain case, else by formulaic.

Most formulas' parts are an intercept plus numeric columns as they stand (``Days``,
``1 + x1 + x2``, ``0 + x``).  Their model matrix is those columns side by side, and building
it directly is cheap next to formulaic's general machinery (parsing the data's types,
materializing terms, naming columns), which would be most of a small model's fit.
formulaic builds every other part (factors, interactions, functions), and the encoding of
new data (`ModelSpec`) is always formulaic's, made on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from formulaic import ModelSpec, model_matrix
from formulaic.errors import FormulaicError
from formulaic.parser.types import Factor

from mixedfx.errors import DataError, FormulaError
from mixedfx.formula.rsyntax import R_FUNCTIONS, parsed
from mixedfx.messages import quote, shorten

# The largest magnitude of a column whose sums of squares over the rows stay well inside
# double precision's range of about 1e±308.
MAGNITUDE = 1e100


@dataclass(frozen=True)
class Columns:
    """The model matrix of one formula part on the model frame.

    Attributes
    ----------
    formula
        The part, a one-sided formula (``"1 + Days"``).
    source
        The model frame's data it was built from (shared, never modified).
    matrix
        Shape (n, c): the columns, as floats.
    names
        The c column names, formulaic's spelling (``Intercept``, ``recipe[T.B]``).
    plain
        Whether every term is the intercept or one numeric column, one column each
        (`plain_columns`): then the columns are built without formulaic.
    """

    formula: str
    source: pd.DataFrame
    matrix: np.ndarray
    names: tuple[str, ...]
    plain: bool = False

    @cached_property
    def spec(self) -> ModelSpec:
        """formulaic's encoding of the part, for new data and term structure."""
        return evaluate(self.formula, self.source).model_spec

    def on(self, data: pd.DataFrame) -> np.ndarray:
        """The columns for new rows, shape (m, c), encoded as the model frame's.

        Raises
        ------
        DataError
            When a column of `data` cannot be encoded so (text where numbers were fitted).
        """
        try:
            mm = self.spec.get_model_matrix(data, context=R_FUNCTIONS, na_action="ignore")
        except (FormulaicError, NameError, TypeError, ValueError) as exc:
            raise DataError(f"cannot evaluate {self.formula!r} on the new data: {exc}") from None
        return np.asarray(mm, dtype=float)


def build_columns(formula: str, data: pd.DataFrame) -> Columns:
    """The model matrix of `formula` on `data`: directly when every term is the intercept or
    a numeric column (`plain_columns`), else by formulaic.

    Raises
    ------
    FormulaError, DataError
        When formulaic cannot build the columns.
    """
    plain = plain_columns(formula, data)
    if plain is not None:
        columns = Columns(formula, data, *plain, plain=True)
    else:
        mm = evaluate(formula, data)
        columns = Columns(formula, data, np.asarray(mm, dtype=float), tuple(map(str, mm.columns)))
        columns.__dict__["spec"] = mm.model_spec  # made already: spare the first use its rebuild
    check_finite(columns.matrix, columns.names)
    return columns


def check_finite(matrix: np.ndarray, names: tuple[str, ...]) -> None:
    """Raise `DataError` naming the columns of `matrix` (n × c) holding ±inf or NaN, or
    values whose squares leave double precision.

    A transform can make non-finite values from finite data (``np.log(0)``); lme4 stops at
    them too ("NA/NaN/Inf in 'x'"), where a fit would take them as rank deficiency or fail
    later.  Values beyond `MAGNITUDE` (or nonzero below its inverse) make the cross-products,
    sums of squares over the rows, overflow to inf or underflow to 0.
    """
    bad = ~np.isfinite(matrix)
    if bad.any():
        columns = [name for name, b in zip(names, bad.any(axis=0)) if b]
        raise DataError(
            f"the model-matrix column(s) {columns} hold {int(bad.sum())} infinite or NaN "
            "value(s), made by a transform of the data; remove those rows or change the transform"
        )
    size = np.max(np.abs(matrix), axis=0) if matrix.size else np.zeros(matrix.shape[1])
    for name, s in zip(names, size):
        if s > MAGNITUDE or 0 < s < 1 / MAGNITUDE:
            raise DataError(
                f"the column {quote(name)} has values of magnitude {s:.1e}, whose products leave "
                "the range of double precision; rescale it (e.g. divide by its standard deviation)"
            )


def plain_columns(formula: str, data: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """The matrix and names formulaic would give when each term of `formula` is the intercept
    or one numeric (not boolean) column of `data`; None otherwise."""
    arrays: list[np.ndarray] = []
    names: list[str] = []
    for term in parsed(formula):
        if len(term.factors) != 1:
            return None
        factor = term.factors[0]
        if factor.eval_method == Factor.EvalMethod.LITERAL and str(factor.expr) == "1":
            arrays.append(np.ones(len(data)))
            names.append("Intercept")
            continue
        values = _numeric(data, str(factor.expr))
        if factor.eval_method != Factor.EvalMethod.LOOKUP or values is None:
            return None
        arrays.append(values)
        names.append(str(term))
    matrix = np.column_stack(arrays) if arrays else np.empty((len(data), 0))
    return matrix, tuple(names)


def _numeric(data: pd.DataFrame, name: str) -> np.ndarray | None:
    """Column `name` as floats if it is numeric (not boolean or categorical), else None."""
    if name not in data.columns:
        return None
    column = data[name]
    if column.dtype.kind not in "iuf" or isinstance(column.dtype, pd.CategoricalDtype):
        return None
    return column.to_numpy(dtype=float)


def evaluate(formula: str, data: pd.DataFrame) -> pd.DataFrame:
    """formulaic's model matrix of a one-sided formula, with its errors as ours."""
    try:
        return model_matrix(
            parsed(formula), data, context=R_FUNCTIONS, na_action="raise", output="pandas"
        )
    except FormulaicError as exc:
        raise FormulaError(
            f"cannot build columns for {quote(formula)}: {shorten(exc, 300)}"
        ) from None
    except (NameError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise DataError(
            f"cannot evaluate {quote(formula)} on the data: {shorten(exc, 300)}"
        ) from None
    except RecursionError:
        raise FormulaError(f"{quote(formula, 60)} is nested too deeply to evaluate") from None
