"""Stage 3c: the dispersion formula, which strata of rows have their own residual variance.

``dispformula="~ State"`` (glmmTMB's name; nlme's ``varIdent(form = ~ 1 | State)``) gives
the rows of each level of State their own residual SD, σ δ_s with δ = 1 for the first level.
Several categorical variables, ``~ a + b``, act additively on log δ, as glmmTMB's log link
does: the strata are the combinations present, and log δ_s = (D γ)_s with D the treatment
coding of each variable without an intercept.

A dispersion formula comes from outside the program as often as a model formula, so it is
read by an allow-list, not evaluated: ``~`` and column names joined by ``+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from mixedfx.data.frame import check_columns
from mixedfx.errors import DataError, FormulaError
from mixedfx.messages import quote

NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class DispersionDesign:
    """Which stratum each row is in, and how log δ depends on γ.

    Attributes
    ----------
    formula
        The dispersion formula as given.
    variables
        Its columns.
    labels
        Shape (S,): each stratum's label, the levels joined by ``:`` for several variables;
        the first is the reference, whose residual SD is σ.
    stratum
        Shape (n,), int: each used row's stratum.
    D
        Shape (S, m): log δ_s = (D γ)_s.
    names
        The m entries of γ, R's coefficient spelling (``StateB``).
    """

    formula: str
    variables: tuple[str, ...]
    labels: tuple[str, ...]
    stratum: np.ndarray
    D: np.ndarray
    names: tuple[str, ...]


def dispersion_variables(dispformula: str) -> tuple[str, ...]:
    """The columns of a one-sided formula ``~ a + b``.

    Raises
    ------
    FormulaError
        Anything else: a response, a function, an interaction, a number.
    """
    text = dispformula.strip()
    terms = [t.strip() for t in text[1:].split("+")] if text.startswith("~") else []
    if not terms or not all(NAME.match(t) for t in terms):
        raise FormulaError(
            f"dispformula {quote(dispformula)} is not of the form '~ a' or '~ a + b' with "
            "column names a, b (categorical columns whose levels get their own residual SD)"
        )
    return tuple(dict.fromkeys(terms))


def dispersion_design(dispformula: str, data: pd.DataFrame, rows: np.ndarray) -> DispersionDesign:
    """The strata of the used `rows` of `data` (the model frame's, `ModelFrame.rows`).

    Raises
    ------
    FormulaError, UnknownColumnError
        A malformed formula or a column the data lack.
    DataError
        A numeric column (a continuous dispersion predictor is not available yet) or a
        missing value in a used row.
    """
    variables = dispersion_variables(dispformula)
    check_columns(data, list(variables), "data")
    codes, levels = [], []
    for name in variables:
        code, level = _levels(name, data[name].take(rows))
        codes.append(code)
        levels.append(level)
    sizes = [len(level) for level in levels]
    # the combinations present, in the order of their codes (the first variable slowest)
    if len(codes) == 1:
        present, stratum = np.arange(sizes[0]), codes[0]
    else:
        present, stratum = np.unique(np.ravel_multi_index(codes, sizes), return_inverse=True)
    combos = np.column_stack(np.unravel_index(present, sizes))
    labels = tuple(":".join(levels[j][c] for j, c in enumerate(combo)) for combo in combos)
    D = np.column_stack(
        [np.eye(len(level))[combos[:, j]][:, 1:] for j, level in enumerate(levels)]
    )
    names = tuple(f"{name}{lv}" for name, level in zip(variables, levels) for lv in level[1:])
    return DispersionDesign(dispformula, variables, labels, stratum.ravel(), D, names)


def _levels(name: str, column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Level codes of the used rows and the level labels present (category order, else
    sorted values)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        used = np.unique(codes[codes >= 0])
        present = list(column.cat.categories[used])
        codes = np.where(codes >= 0, np.searchsorted(used, codes), -1)
    else:  # hashing, then sorting the few distinct values only
        codes, values = pd.factorize(column, sort=True)
        present = list(values)
    if (codes < 0).any():
        raise DataError(
            f"the dispformula column {quote(name)} has {int((codes < 0).sum())} missing "
            "value(s) in rows the model uses; remove those rows or give them a level"
        )
    if is_numeric_dtype(column) and not is_bool_dtype(column) and len(present) > 2:
        raise DataError(
            f"the dispformula column {quote(name)} is numeric: a continuous dispersion "
            "predictor is not available yet; convert it to a categorical column (strings or "
            "pandas.Categorical) to give each value its own residual SD"
        )
    return codes.astype(np.intp), [str(v) for v in present]
