"""Stage 3c: the dispersion formula, which strata of rows have their own residual variance.

``dispformula="~ State"`` (glmmTMB's name; nlme's ``varIdent(form = ~ 1 | State)``) gives
the rows of each level of State their own residual SD, σ δ_s with δ = 1 for the first level.
Several variables, ``~ a + b``, act additively on log δ, as glmmTMB's log link does:
log δᵢ = (X γ)ᵢ with X the treatment coding of each categorical variable without an
intercept, and a numeric variable's values as they are (nlme's ``varExp``: log σ linear in
it, σ the SD where it is 0).  With categorical variables only, the rows fall into strata, the
combinations present, and log δ_s = (D γ)_s: the fit then combines per-stratum cross-products.

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
from mixedfx.messages import quote, quote_list

NAME = re.compile(r"^(?P<name>[A-Za-z_.][A-Za-z0-9_.]*)$")
FACTOR = re.compile(r"^factor\(\s*(?P<name>[A-Za-z_.][A-Za-z0-9_.]*)\s*\)$")


@dataclass(frozen=True)
class DispersionDesign:
    """Which stratum each row is in, and how log δ depends on γ.

    Attributes
    ----------
    formula
        The dispersion formula as given.
    variables
        Its columns.
    X
        Shape (n, m): log δᵢ = (X γ)ᵢ for each used row.
    names
        The m entries of γ, R's coefficient spelling (``StateB``, ``age``).
    labels
        With categorical variables only: each stratum's label, the levels joined by ``:`` for
        several variables, the first the reference, whose residual SD is σ; else empty.
    stratum
        Shape (n,), int: each used row's stratum; None with a numeric variable.
    D
        Shape (S, m): log δ_s = (D γ)_s; None with a numeric variable.
    """

    formula: str
    variables: tuple[str, ...]
    X: np.ndarray
    names: tuple[str, ...]
    labels: tuple[str, ...] = ()
    stratum: np.ndarray | None = None
    D: np.ndarray | None = None

    @property
    def stratified(self) -> bool:
        """Whether the rows fall into strata (categorical variables only)."""
        return self.stratum is not None


def dispersion_variables(dispformula: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The columns of a one-sided formula ``~ a + factor(b)``, and those written as
    ``factor(name)``: categorical even where numeric (levels coded as numbers).

    Raises
    ------
    FormulaError
        Anything else: a response, another function, an interaction, a number.
    """
    text = dispformula.strip()
    terms = [t.strip() for t in text[1:].split("+")] if text.startswith("~") else []
    matches = [NAME.match(t) or FACTOR.match(t) for t in terms]
    if not terms or not all(matches):
        raise FormulaError(
            f"dispformula {quote(dispformula)} is not of the form '~ a' or '~ a + factor(b)' "
            "with column names a, b (categorical columns whose levels get their own residual "
            "SD, numeric ones on which log σ is linear; factor(b) makes a numeric b categorical)"
        )
    names = [m.group("name") for m in matches if m is not None]
    forced = frozenset(n for n, t in zip(names, terms) if FACTOR.match(t))
    return tuple(dict.fromkeys(names)), forced


def dispersion_design(dispformula: str, data: pd.DataFrame, rows: np.ndarray) -> DispersionDesign:
    """The strata of the used `rows` of `data` (the model frame's, `ModelFrame.rows`).

    Raises
    ------
    FormulaError, UnknownColumnError
        A malformed formula or a column the data lack.
    DataError
        A missing or infinite value in a used row.
    """
    variables, factors = dispersion_variables(dispformula)
    check_columns(data, list(variables), "data")
    columns = [data[name].take(rows) for name in variables]
    numeric = [
        _is_numeric(column) and name not in factors for name, column in zip(variables, columns)
    ]
    for name, column in zip(variables, columns):
        _check_complete(name, column)
    if any(numeric):
        return _row_design(dispformula, variables, columns, numeric)
    codes, levels = zip(*(_levels(column) for column in columns))
    sizes = [len(level) for level in levels]
    # the combinations present, in the order of their codes (the first variable slowest)
    if len(codes) == 1:
        present, stratum = np.arange(sizes[0]), codes[0]
    else:
        present, stratum = np.unique(np.ravel_multi_index(codes, sizes), return_inverse=True)
    combos = np.column_stack(np.unravel_index(present, sizes))
    labels = tuple(":".join(levels[j][c] for j, c in enumerate(combo)) for combo in combos)
    D = np.column_stack([np.eye(len(level))[combos[:, j]][:, 1:] for j, level in enumerate(levels)])
    names = tuple(f"{name}{lv}" for name, level in zip(variables, levels) for lv in level[1:])
    stratum = stratum.ravel()
    _check_strata(dispformula, labels, np.bincount(stratum, minlength=len(labels)))
    return DispersionDesign(dispformula, variables, D[stratum], names, labels, stratum, D)


def _check_strata(dispformula: str, labels: tuple[str, ...], counts: np.ndarray) -> None:
    """A stratum of one row has no residual to estimate its SD from: the likelihood grows
    without bound as that SD goes to 0, its row fitted exactly by the random effects."""
    single = [label for label, count in zip(labels, counts) if count < 2]
    if single:
        raise DataError(
            f"dispformula {quote(dispformula)}: the stratum {quote_list(single, 5)} has a "
            "single row, so its residual SD cannot be estimated; merge it with another level "
            "or leave it out"
        )


def _row_design(
    dispformula: str,
    variables: tuple[str, ...],
    columns: list[pd.Series],
    numeric: list[bool],
) -> DispersionDesign:
    """X with a numeric variable: its values, and the others' treatment coding."""
    blocks, names = [], []
    for name, column, is_number in zip(variables, columns, numeric):
        if is_number:
            blocks.append(column.to_numpy(dtype=float)[:, None])
            names.append(name)
            continue
        codes, level = _levels(column)
        blocks.append(np.eye(len(level))[codes][:, 1:])
        names += [f"{name}{lv}" for lv in level[1:]]
    X = np.column_stack(blocks)
    if not np.all(np.isfinite(X)):
        raise DataError(
            f"dispformula {quote(dispformula)}: a numeric variable has infinite values in rows "
            "the model uses"
        )
    return DispersionDesign(dispformula, variables, X, tuple(names))


def _is_numeric(column: pd.Series) -> bool:
    """A numeric variable acts linearly on log σ; two values or fewer are levels."""
    return bool(is_numeric_dtype(column) and not is_bool_dtype(column) and column.nunique() > 2)


def _check_complete(name: str, column: pd.Series) -> None:
    missing = int(column.isna().sum())
    if missing:
        raise DataError(
            f"the dispformula column {quote(name)} has {missing} missing value(s) in rows "
            "the model uses; remove those rows or give them a value"
        )


def _levels(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Level codes of the used rows and the level labels present (category order, else
    sorted values)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        used = np.unique(codes)
        present = list(column.cat.categories[used])
        codes = np.searchsorted(used, codes)
    else:  # hashing, then sorting the few distinct values only
        codes, values = pd.factorize(column, sort=True)
        present = list(values)
    return codes.astype(np.intp), [str(v) for v in present]
