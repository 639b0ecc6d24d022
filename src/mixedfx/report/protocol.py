"""What the reports read of a fit: the presentation's view, which imports no result class.

`mixedfx.models` builds results and asks `report` to lay them out; the reports see a fit
through these protocols only, so the dependency runs one way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # types only: building a linear model's summary imports no inference
    from mixedfx.formula import MixedFormula
    from mixedfx.inference.ftest import DDF
    from mixedfx.optimize import OptSummary


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


class ReportedMixedFit(ReportedFit, Protocol):
    """What lme4's summary of a mixed model shows."""

    @property
    def method(self) -> str: ...

    @property
    def objective(self) -> float: ...

    @property
    def aic(self) -> float: ...

    @property
    def bic(self) -> float: ...

    @property
    def loglik(self) -> float: ...

    @property
    def deviance(self) -> float: ...

    @property
    def theta(self) -> np.ndarray: ...

    @property
    def vcov(self) -> pd.DataFrame: ...

    @property
    def varcorr(self) -> pd.DataFrame: ...

    @property
    def ngroups(self) -> dict[str, int]: ...

    @property
    def group_names(self) -> tuple[str, ...]: ...

    @property
    def term_names(self) -> tuple[tuple[str, ...], ...]: ...

    @property
    def covariances(self) -> list[np.ndarray]: ...

    @property
    def is_singular(self) -> bool: ...

    @property
    def optinfo(self) -> OptSummary: ...

    def coef_table(self, ddf: DDF = "satterthwaite") -> pd.DataFrame: ...


class ReportedOlsFit(ReportedFit, Protocol):
    """What R's summary of a linear model shows."""

    @property
    def r_squared(self) -> float: ...

    @property
    def adj_r_squared(self) -> float: ...

    @property
    def fstatistic(self) -> FStatistic | None: ...

    def coef_table(self) -> pd.DataFrame: ...
