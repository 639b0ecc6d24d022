"""What the used columns of a data frame hold, read in one pass: stage 2's checks and types.

pandas' column lookups cost as much as the rest of a small model's frame stage, so each
used column is read once (`scan_columns`), and the checks and the R readings of types work
on what that pass recorded:

* a column must hold one scalar per row (not lists);
* a predictor or response must not hold dates, times or complex numbers, nor ±inf (lme4:
  "NA/NaN/Inf in 'x'"); a grouping factor may hold any scalars, only its levels matter;
* a logical predictor is a factor with levels FALSE and TRUE (coefficient ``xTRUE``), pandas'
  ``string`` dtype is text (categorical), numbers stored as objects are numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.errors import DataError

# pandas' infer_dtype names of numbers (which may sit in object columns), dates and times
_NUMBERS = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
_TEMPORAL = frozenset(
    {"datetime64", "datetime", "date", "time", "timedelta64", "timedelta", "period"}
)


@dataclass(frozen=True)
class ColumnScan:
    """What one pass over the used columns found.

    Attributes
    ----------
    complete
        Shape (m,), bool: no used column missing in the row.
    kinds
        pandas' ``infer_dtype`` name of each column's values (``"floating"``, ``"string"``,
        ``"boolean"``, ``"datetime64"``, ...).
    dtypes
        Each column's dtype.
    infinite
        For the float columns holding ±inf: where, shape (m,) bool.
    """

    complete: np.ndarray
    kinds: dict[str, str]
    dtypes: dict[str, object]
    infinite: dict[str, np.ndarray]


def scan_columns(data: pd.DataFrame, columns: list[str]) -> ColumnScan:
    """Read each of `columns` once.

    Raises
    ------
    DataError
        When a column holds something other than one scalar per row (lists, dicts, arrays).
    """
    complete = np.ones(len(data), dtype=bool)
    kinds: dict[str, str] = {}
    dtypes: dict[str, object] = {}
    infinite: dict[str, np.ndarray] = {}
    for name in columns:
        column = data[name]
        kinds[name], dtypes[name] = _scalar_kind(name, column), column.dtype
        numpy = isinstance(column.dtype, np.dtype)
        if numpy and column.dtype.kind in "iub":  # numpy integers and booleans cannot be missing
            continue
        if column.dtype.kind == "f":
            values = column.to_numpy(dtype=float, na_value=np.nan)
            complete &= ~np.isnan(values)
            inf = np.isinf(values)
            if inf.any():
                infinite[name] = inf
        else:
            complete &= ~pd.isna(column.to_numpy())
    return ColumnScan(complete, kinds, dtypes, infinite)


def _scalar_kind(name: str, column: pd.Series) -> str:
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind.startswith("mixed") and not all(map(pd.api.types.is_scalar, column)):
        example = next(v for v in column if not pd.api.types.is_scalar(v))
        raise DataError(
            f"column {name!r} holds {type(example).__name__} values such as {example!r:.40}; "
            "a column must hold one number or label per row"
        )
    return kind


def check_kinds(scan: ColumnScan, grouping: set[str]) -> None:
    """Raise `DataError` naming a column other than a grouping factor that holds dates,
    times or complex numbers."""
    for name, kind in scan.kinds.items():
        if name in grouping:
            continue
        if kind in _TEMPORAL:
            raise DataError(
                f"column {name!r} holds dates or times ({kind}); convert {name} to numeric, e.g. "
                f"days since the first: (data[{name!r}] - data[{name!r}].min()).dt.days"
            )
        if kind == "complex":
            raise DataError(
                f"column {name!r} holds complex numbers; use their real part or modulus"
            )


def check_finite(scan: ColumnScan, grouping: set[str]) -> None:
    """Raise `DataError` naming a column other than a grouping factor that holds ±inf in
    a complete row (lme4 stops at them; a fit would take them for rank deficiency)."""
    for name, where in scan.infinite.items():
        count = int((where & scan.complete).sum())
        if count and name not in grouping:
            raise DataError(
                f"column {name!r} holds {count} infinite value(s) (lme4: 'NA/NaN/Inf in "
                f"{name}'); remove those rows or replace the values"
            )


def logical_columns(scan: ColumnScan, computed: set[str]) -> tuple[str, ...]:
    """The boolean columns, except those `computed` with (``I(b * 2)`` sees 0 and 1)."""
    return tuple(n for n, k in scan.kinds.items() if k == "boolean" and n not in computed)


def model_types(
    data: pd.DataFrame, scan: ColumnScan, logical: tuple[str, ...], labels: set[str]
) -> pd.DataFrame:
    """`data` with its columns read as R reads them: the `logical` columns as factors;
    pandas' ``string`` columns as text that formulaic encodes as categories (it would read
    them as numbers); numbers stored as objects as numbers (formulaic would take them for
    labels), except in columns that are only `labels` (grouping factors), whose values must
    stay as they are (large integer ids would merge as floats).  A new frame when a column
    changes, else `data` itself."""
    changed: dict[str, pd.Series] = {}
    for name, kind in scan.kinds.items():
        dtype = scan.dtypes[name]
        if name in logical:
            text = np.where(data[name].to_numpy(dtype=bool), "TRUE", "FALSE")
            factor = pd.Categorical(text, categories=["FALSE", "TRUE"])
            changed[name] = pd.Series(factor, index=data.index)
        elif isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
            changed[name] = data[name].astype(object)
        elif dtype == np.dtype(object) and kind in _NUMBERS and name not in labels:
            changed[name] = data[name].astype(float)
    return data.assign(**changed) if changed else data
