"""Stage 3b: random-effects terms as level codes and per-row covariates (never a dense Z).

For term j with grouping factor g_j (ℓ_j levels) and k_j columns, row i of Z_j holds
``z[i, :]`` in the k_j columns of level ``refs[i]`` and zeros elsewhere.  That is all the
information Z_j carries, stored in O(n k_j) memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from mixedfx.data.columns import Columns, build_columns
from mixedfx.data.names import r_name
from mixedfx.errors import DataError, FormulaError, IdentifiabilityError, NewLevelError
from mixedfx.formula import BarTerm
from mixedfx.messages import quote, quote_list


@dataclass(frozen=True)
class GroupingFactor:
    """A grouping factor: level codes and labels.

    Attributes
    ----------
    name
        lme4's label (``"Subject"``, ``"cask:batch"``).
    columns
        The data columns it is the interaction of.
    levels
        The ℓ level labels, in factor order (category order, else sorted values).
    refs
        Shape (n,), int: the level index of each row.
    """

    name: str
    columns: tuple[str, ...]
    levels: tuple[str, ...]
    refs: np.ndarray

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    def codes(self, data: pd.DataFrame) -> np.ndarray:
        """Level index of each row of new data, -1 where the level was not seen in fitting."""
        labels = _labels(data, self.columns)
        lookup = {label: i for i, label in enumerate(self.levels)}
        return np.array([lookup.get(label, -1) for label in labels], dtype=np.intp)


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expr | factor)``.

    Attributes
    ----------
    factor
        The grouping factor.
    columns
        The term's covariates (its model matrix z, n × k) with their encoding for new data.
    names
        The k coefficient names, R's spelling.
    """

    factor: GroupingFactor
    columns: Columns
    names: tuple[str, ...]

    @property
    def z(self) -> np.ndarray:
        """Shape (n, k): the term's covariates per row (a column of ones for an intercept)."""
        return self.columns.matrix

    @property
    def k(self) -> int:
        return self.z.shape[1]

    @property
    def nlevels(self) -> int:
        return self.factor.nlevels

    @property
    def q(self) -> int:
        """Number of random effects of the term, ℓ k."""
        return self.nlevels * self.k

    def covariates(self, data: pd.DataFrame) -> np.ndarray:
        """`z` for new rows, shape (m, k)."""
        return self.columns.on(data)

    def contribution(self, data: pd.DataFrame, b: np.ndarray, allow_new_levels: bool) -> np.ndarray:
        """Row sums ``z_i · b[refs_i]`` for new data, shape (m,); 0 for unseen levels if allowed.

        Parameters
        ----------
        b
            Shape (ℓ, k): the term's conditional modes.
        """
        codes = self.factor.codes(data)
        unseen = codes < 0
        if unseen.any() and not allow_new_levels:
            new = np.asarray(_labels(data, self.factor.columns))[unseen]
            labels = sorted({str(label) for label in new})
            raise NewLevelError(
                f"grouping factor {quote(self.factor.name)} has level(s) {quote_list(labels, 5)} "
                "not seen in fitting; pass allow_new_levels=True to predict them at the "
                "population level"
            )
        z = self.covariates(data)
        out = np.einsum("ik,ik->i", z, b[np.where(unseen, 0, codes)])
        return np.where(unseen, 0.0, out)


def random_term(bar: BarTerm, data: pd.DataFrame) -> RandomTerm:
    """Encode one bar term on the model frame."""
    factor = grouping_factor(bar, data)
    columns = build_columns(bar.expr, data)
    names = tuple(r_name(c) for c in columns.names)
    if not names:
        raise FormulaError(f"the random-effects term ({bar.expr} | {bar.label}) has no columns")
    return RandomTerm(factor, columns, names)


def grouping_factor(bar: BarTerm, data: pd.DataFrame) -> GroupingFactor:
    """Codes and labels of the interaction of `bar.factors`; unused levels are dropped as in lme4.

    Level order: a categorical column's category order, else sorted values (numbers
    numerically, strings alphabetically), R's `factor()` order; interactions vary the
    last factor fastest.
    """
    codes = np.zeros(len(data), dtype=np.int64)
    per_column: list[np.ndarray] = []
    for column in bar.factors:
        col_codes, col_labels = _factor_codes(data[column])
        codes = codes * len(col_labels) + col_codes
        per_column.append(col_labels)
    refs, used = _used_codes(codes, math.prod(len(labels) for labels in per_column))
    labels = _combine_labels(used, per_column)
    return GroupingFactor(bar.label, bar.factors, labels, refs.astype(np.intp).ravel())


def _used_codes(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes renumbered 0..ℓ−1 over the `size` possible ones, in order, and the used ones.

    By counting when `size` is at most the rows (O(n), several times faster than hashing
    on small data); by hashing otherwise, as an interaction's code space can be huge.
    """
    if size > len(codes):
        refs, used = pd.factorize(codes, sort=True)
        return refs, used
    present = np.bincount(codes, minlength=size) > 0
    return (np.cumsum(present) - 1)[codes], np.flatnonzero(present)


def _factor_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Shape (n,) level codes and (ℓ,) labels of one grouping column, as R's ``factor()``.

    A column of an R data frame has one type, so a Python column mixing types (``1`` and
    ``"1"``) is read as R reads it, as text: values that print alike are one level.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy(dtype=np.int64)
        return _merge_alike(codes, _text(np.asarray(column.cat.categories, dtype=object)))
    values = column.to_numpy()
    if values.dtype == object and infer_dtype(values, skipna=True) in ("mixed", "mixed-integer"):
        values = _text(values)
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # unorderable values: order by their text
        codes, uniques = pd.factorize(_text(values), sort=True)
    return _merge_alike(codes.astype(np.int64), _text(np.asarray(uniques)))


def _merge_alike(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levels with equal labels made one (a categorical's categories ``1`` and ``"1"``)."""
    merged, unique = pd.factorize(labels)
    if len(unique) == len(labels):
        return codes, labels
    return merged[codes], np.asarray(unique, dtype=object)


def _text(values: np.ndarray) -> np.ndarray:
    """Shape kept: each value as a Python string, in an object array.

    Never a fixed-width numpy text array, which stores every label at the longest one's
    width (20 levels with one 5 MB label would take 400 MB).  A whole number stored as a
    float prints without ``.0``, as R's ``as.character`` (308, not 308.0).
    """
    if values.dtype.kind == "f":
        whole = (np.mod(values, 1) == 0) & (np.abs(values) < 2**53)
        text = [str(int(v)) if w else str(v) for v, w in zip(values, whole)]
    else:
        text = [str(v) for v in values]
    return np.array(text, dtype=object)


def _combine_labels(used: np.ndarray, per_column: list[np.ndarray]) -> tuple[str, ...]:
    parts: list[np.ndarray] = []
    rest = used.copy()
    for labels in reversed(per_column):
        parts.append(labels[rest % len(labels)])
        rest //= len(labels)
    parts.reverse()
    if len(parts) == 1:
        return tuple(parts[0])
    return tuple(":".join(p) for p in zip(*parts))


def _labels(data: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"new data lack the grouping column(s) {quote_list(missing)}")
    parts = [_text(np.asarray(data[c].to_numpy())) for c in columns]
    return list(parts[0]) if len(parts) == 1 else [":".join(p) for p in zip(*parts)]


def check_term(term: RandomTerm, nobs: int) -> None:
    """lme4's checks on a term: more than one level, fewer levels and effects than rows.

    Raises
    ------
    DataError
        The grouping factor has a single level, or as many levels as observations.
    IdentifiabilityError
        The term has at least as many random effects as there are observations.
    DataError
        A covariate of the term is zero in every row: its variance could take any value.
    """
    name, ell = term.factor.name, term.nlevels
    zero = [c for c, column in zip(term.names, term.z.T) if not np.any(column)]
    if zero:
        raise DataError(
            f"the random-effects term ({' + '.join(term.names)} | {name}) has the covariate(s) "
            f"{zero}, zero in every row, whose variance the data cannot inform; drop them "
            "from the term, or check the column"
        )
    if ell < 2:
        raise DataError(
            f"grouping factor {name!r} has only {ell} level: a variance needs at least two "
            "groups; drop the term or model the factor as a fixed effect"
        )
    if ell >= nobs:
        raise DataError(
            f"grouping factor {name!r} has {ell} levels for {nobs} observations: each level "
            "needs repeated observations, or the random effect is confounded with the residual"
        )
    if term.q >= nobs:
        raise IdentifiabilityError(
            f"the term ({' + '.join(term.names)} | {name}) has {term.q} random effects for "
            f"{nobs} observations; the random-effects parameters and the residual variance "
            "are probably unidentifiable: simplify the term (fewer slopes, or use '||')"
        )
