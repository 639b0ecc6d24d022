"""What the reports read of a fit: the presentation's view, which imports no result class.

`mixedfx.models` builds results and asks `report` to lay them out; the reports see a fit
through these protocols only, so the dependency runs one way.  A mixed model's summary
reads `report.summary_data.ReportedMixedFit`, which extends the inference protocol; this
module stays light for the linear model's summary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # types only: building a linear model's summary imports no inference
    from mixedfx.formula import MixedFormula


class FStatistic(NamedTuple):
    """The overall F test of a linear model's coefficients but the intercept."""

    value: float
    num_df: int
    den_df: int
    p_value: float


class ReportedFit(Protocol):
    """What every summary shows: the call, the rows, the residuals and the coefficients."""

    @property
    def formula(self) -> MixedFormula: ...

    @property
    def nobs(self) -> int: ...

    @property
    def n_dropped(self) -> int:
        """Rows removed for missing values."""
        ...

    @property
    def dropped_columns(self) -> tuple[str, ...]:
        """Fixed-effect columns removed for rank deficiency."""
        ...

    @property
    def residuals(self) -> np.ndarray: ...

    @property
    def sigma(self) -> float: ...

    @property
    def df_resid(self) -> int: ...


class ReportedOlsFit(ReportedFit, Protocol):
    """What R's summary of a linear model shows."""

    @property
    def r_squared(self) -> float: ...

    @property
    def adj_r_squared(self) -> float: ...

    @property
    def fstatistic(self) -> FStatistic | None: ...

    def coef_table(self) -> pd.DataFrame: ...
