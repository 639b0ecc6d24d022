"""Stage 3c: the offset, a known part of the linear predictor (coefficient 1, not estimated).

lme4 adds an offset o to Xβ + Zb; for a linear mixed model that is the model of y − o, with
o added back to the fitted values and predictions.  The offset enters the fit once, through
`Design.y_minus_offset`; the fitted values and predictions add `Offset.values` / `Offset.on`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.data.columns import Columns, build_columns
from mixedfx.formula import MixedFormula


@dataclass(frozen=True)
class Offset:
    """The sum of a formula's ``offset(...)`` terms.

    Attributes
    ----------
    values
        Shape (n,): the offset of each row of the model frame (zeros when there is none).
    columns
        The one column ``I(o₁ + o₂ + …)`` and its encoding for new data; None without offset.
    """

    values: np.ndarray
    columns: Columns | None

    def on(self, data: pd.DataFrame) -> np.ndarray:
        """The offset of new rows, shape (m,)."""
        if self.columns is None:
            return np.zeros(len(data))
        return self.columns.on(data)[:, 0]


def offset(formula: MixedFormula, data: pd.DataFrame) -> Offset:
    """The offset of the model frame `data` from the formula's offset terms.

    Raises
    ------
    DataError
        When an expression cannot be evaluated or gives infinite values.
    """
    if formula.offset_term is None:
        return Offset(np.zeros(len(data)), None)
    columns = build_columns(formula.offset_term, data)
    return Offset(columns.matrix[:, 0], columns)
