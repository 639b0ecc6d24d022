"""Stage 3c: the offset, a known part of the linear predictor (coefficient 1, not estimated).

lme4 adds an offset o to Xβ + Zb; for a linear mixed model that is the model of y − o, with
o added back to the fitted values and predictions.  The offset enters the fit once, through
`Design.y_minus_offset`; the fitted values and predictions add `Offset.values` / `Offset.on`.
An offset given as an array (``lmer(..., offset=array)``) adds to the terms' sum on the fitted
rows; new data cannot supply it, so predictions on new data refuse it (name a column instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.data.columns import Columns, build_columns
from mixedfx.errors import DataError
from mixedfx.formula import MixedFormula


@dataclass(frozen=True)
class Offset:
    """The sum of a formula's ``offset(...)`` terms.

    Attributes
    ----------
    values
        Shape (n,): the offset of each row of the model frame (zeros when there is none).
    columns
        The one column ``I(o₁ + o₂ + …)`` and its encoding for new data; None without offset
        terms.
    given
        Whether `values` include an offset given as an array.
    """

    values: np.ndarray
    columns: Columns | None
    given: bool = False

    @property
    def present(self) -> bool:
        """Whether the model has an offset (terms or an array)."""
        return self.columns is not None or self.given

    def on(self, data: pd.DataFrame) -> np.ndarray:
        """The offset of new rows, shape (m,).

        Raises
        ------
        DataError
            When the offset was given as an array, which new data cannot supply.
        """
        if self.given:
            raise DataError(
                "the model's offset was given as an array, which new data cannot supply; "
                "fit with the offset as a column name (offset='o') or an offset(o) term, "
                "and give that column in the new data"
            )
        if self.columns is None:
            return np.zeros(len(data))
        return self.columns.on(data)[:, 0]


def offset(formula: MixedFormula, data: pd.DataFrame, given: np.ndarray | None = None) -> Offset:
    """The offset of the model frame `data`: the sum of the formula's offset terms and of an
    array `given` for its rows (shape (n,)), as R adds several offsets.

    Raises
    ------
    DataError
        When an expression cannot be evaluated or gives infinite values.
    """
    columns = None if formula.offset_term is None else build_columns(formula.offset_term, data)
    values = np.zeros(len(data)) if columns is None else columns.matrix[:, 0]
    if given is not None:
        values = values + given
    return Offset(values, columns, given is not None)
