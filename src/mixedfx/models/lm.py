"""Ordinary least squares, R's ``lm``: the pooled model the founding article starts from.

Solved by a QR decomposition of X (never the normal equations, which square X's condition
number).  The frame, the response and X come from the same stages as `lmer`, so missing
values, bad input and coefficient names behave the same way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.linalg import solve_triangular

from mixedfx.data.fixed import FixedDesign, fingerprint, fixed_design, response_vector
from mixedfx.data.frame import ModelFrame, as_pandas, model_frame, prediction_rows
from mixedfx.data.offset import Offset, offset
from mixedfx.distributions import f_sf, t_ppf, t_sf
from mixedfx.errors import DataError, ExactFitWarning, FormulaError
from mixedfx.formula import MixedFormula, parse_formula
from mixedfx.formula.safe import check_formula
from mixedfx.report.protocol import FStatistic

if TYPE_CHECKING:
    from mixedfx.report.lm_summary import LmSummary

LOG_2PI = float(np.log(2 * np.pi))


def lm(formula: str, data: pd.DataFrame, *, safe: bool = False) -> LinearModel:
    """Fit a linear model by ordinary least squares.

    Parameters
    ----------
    formula
        ``"y ~ x + f"`` in formulaic's syntax; categorical columns get treatment contrasts.
        A formula is Python code: formulaic evaluates its expressions (``np.log(x)``), so a
        formula can run any program.  Pass ``safe=True`` for a formula you did not write.
    data
        One row per observation; not modified.  Rows with a missing value in a used column
        are removed and counted.
    safe
        Refuse, before evaluating anything, a formula that uses more than column names,
        numbers, arithmetic, comparisons and the transforms of `mixedfx.check_formula`.

    Raises
    ------
    FormulaError
        A bar term ``( | )`` in the formula (a mixed model: use `lmer`); with ``safe=True``,
        a formula outside the allow-list.
    DataError
        Too few observations for the coefficients, or the data errors of `lmer`.
    """
    data = as_pandas(data)
    parsed = check_formula(formula, data.columns) if safe else parse_formula(formula, data.columns)
    if parsed.random:
        raise FormulaError(
            f"{formula!r} has random-effects terms; fit it with mixedfx.lmer, or drop the "
            "( | ) terms for ordinary least squares"
        )
    frame = model_frame(parsed, data)
    y = response_vector(parsed.response_term, frame.data)
    fixed = fixed_design(parsed.fixed, frame.data)
    if frame.nobs <= fixed.X.shape[1]:
        raise DataError(
            f"{frame.nobs} observations cannot estimate {fixed.X.shape[1]} coefficients and "
            "a residual variance; use more data or fewer predictors"
        )
    fit = LinearModel(parsed, frame, y, fixed, offset(parsed, frame.data))
    _warn_if_exact(fit)
    return fit


def _warn_if_exact(fit: LinearModel) -> None:
    """R's ``summary.lm`` test for an "essentially perfect fit": a residual variance below
    1e-30 of the fitted values' mean square."""
    f = fit.fitted
    if fit.rss / fit.df_resid < (np.mean(f) ** 2 + np.var(f, ddof=1)) * 1e-30:
        warnings.warn(
            "essentially perfect fit: the residuals are zero, so standard errors are zero and "
            "t and F statistics infinite or undefined (as R's summary.lm reports them); check "
            "that the response is not constant or computed from the predictors",
            ExactFitWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class LinearModel:
    """A fitted linear model.  Immutable; derived quantities are computed on first use.

    Attributes
    ----------
    formula
        The parsed formula.
    frame
        The rows used.
    y
        Shape (n,): the response.
    fixed
        X (n × p, full column rank) and its encoding for new data.
    offset
        The known part of the fitted values (``offset()`` terms; zeros without).
    """

    formula: MixedFormula
    frame: ModelFrame
    y: np.ndarray
    fixed: FixedDesign
    offset: Offset

    @cached_property
    def _qr(self) -> tuple[np.ndarray, np.ndarray]:
        """Q (n × p) and R (p × p, upper triangular) with X = QR."""
        Q, R = np.linalg.qr(self.fixed.X)
        return Q, R

    @cached_property
    def _beta(self) -> np.ndarray:
        Q, R = self._qr
        return solve_triangular(R, Q.T @ (self.y - self.offset.values))

    @property
    def coef(self) -> pd.Series:
        """Estimated coefficients, indexed by R-style name."""
        return pd.Series(self._beta, index=list(self.fixed.names), name="estimate")

    fixef = coef

    @property
    def nobs(self) -> int:
        return self.y.shape[0]

    method = "OLS"

    @property
    def n_dropped(self) -> int:
        """Rows removed for missing values."""
        return self.frame.n_dropped

    @property
    def dropped_columns(self) -> tuple[str, ...]:
        """Columns of X removed for rank deficiency."""
        return self.fixed.dropped

    @property
    def fixef_names(self) -> tuple[str, ...]:
        return self.fixed.names

    @cached_property
    def response_digest(self) -> str:
        """`mixedfx.data.fixed.fingerprint` of y."""
        return fingerprint(self.y)

    @property
    def df_resid(self) -> int:
        return self.nobs - self._beta.size

    @cached_property
    def fitted(self) -> np.ndarray:
        """Fitted values Xβ̂ + offset; shape (n,)."""
        return self.fixed.X @ self._beta + self.offset.values

    @property
    def residuals(self) -> np.ndarray:
        """y − fitted; shape (n,)."""
        return self.y - self.fitted

    @property
    def rss(self) -> float:
        return float(self.residuals @ self.residuals)

    @property
    def sigma(self) -> float:
        """Residual standard error, sqrt(RSS / (n − p))."""
        return float(np.sqrt(self.rss / self.df_resid))

    @cached_property
    def _Rinv(self) -> np.ndarray:
        return solve_triangular(self._qr[1], np.eye(self._beta.size))

    @property
    def vcov(self) -> pd.DataFrame:
        """σ² (XᵀX)⁻¹ = σ² R⁻¹R⁻ᵀ; p × p."""
        names = list(self.fixed.names)
        V = self.sigma**2 * (self._Rinv @ self._Rinv.T)
        return pd.DataFrame(V, index=names, columns=names)

    def coef_table(self) -> pd.DataFrame:
        """Estimates, standard errors, t statistics and two-sided p-values on n − p df."""
        se = np.sqrt(np.diag(self.vcov.to_numpy()))
        with np.errstate(divide="ignore", invalid="ignore"):  # an exact fit: ±inf or NaN, as R
            t = self._beta / se
        return pd.DataFrame(
            {
                "estimate": self._beta,
                "std_error": se,
                "statistic": t,
                "p_value": 2 * t_sf(np.abs(t), self.df_resid),
            },
            index=list(self.fixed.names),
        )

    @property
    def has_intercept(self) -> bool:
        return "(Intercept)" in self.fixed.names

    @property
    def _model_ss(self) -> float:
        """Sum of squares explained, about the mean when there is an intercept (as R)."""
        centre = self.fitted.mean() if self.has_intercept else 0.0
        return float(np.sum((self.fitted - centre) ** 2))

    @property
    def r_squared(self) -> float:
        """R's multiple R²: MSS / (MSS + RSS), uncentred without an intercept."""
        return self._model_ss / (self._model_ss + self.rss)

    @property
    def adj_r_squared(self) -> float:
        n, df = self.nobs, self.df_resid
        return 1 - (1 - self.r_squared) * (n - int(self.has_intercept)) / df

    @property
    def fstatistic(self) -> FStatistic | None:
        """The F test of all coefficients but the intercept; None when there are none."""
        num_df = self._beta.size - int(self.has_intercept)
        if num_df == 0:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):  # an exact fit: inf or NaN, as R
            value = np.float64(self._model_ss / num_df) / np.float64(self.rss / self.df_resid)
        p = float(f_sf(value, num_df, self.df_resid))
        return FStatistic(float(value), num_df, self.df_resid, p)

    @property
    def loglik(self) -> float:
        """Gaussian log-likelihood at the ML variance RSS/n (R's ``logLik.lm``)."""
        n = self.nobs
        return -0.5 * n * (LOG_2PI + 1 - np.log(n) + np.log(self.rss))

    @property
    def npar(self) -> int:
        """Coefficients plus σ."""
        return self._beta.size + 1

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.npar

    @property
    def bic(self) -> float:
        return -2 * self.loglik + np.log(self.nobs) * self.npar

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        interval: Literal["confidence", "prediction"] | None = None,
        level: float = 0.95,
    ) -> np.ndarray | pd.DataFrame:
        """Predictions, optionally with intervals (R's ``predict.lm``).

        Returns
        -------
        ndarray or DataFrame
            Shape (m,) without `interval`; else a frame with columns ``fit``, ``lwr``, ``upr``.
            NaN where a predictor is missing.
        """
        if newdata is None:
            X0, known = self.fixed.X, self.offset.values
        else:
            X0, known = self._new_rows(newdata)
        fit = X0 @ self._beta + known
        if interval is None:
            return fit
        if interval not in ("confidence", "prediction"):
            raise ValueError(f"interval must be 'confidence' or 'prediction', got {interval!r}")
        se2 = np.sum((X0 @ self._Rinv) ** 2, axis=1) * self.sigma**2
        if interval == "prediction":
            se2 = se2 + self.sigma**2
        half = t_ppf(0.5 + level / 2, self.df_resid) * np.sqrt(se2)
        return pd.DataFrame({"fit": fit, "lwr": fit - half, "upr": fit + half})

    def _new_rows(self, data: object) -> tuple[np.ndarray, np.ndarray]:
        """X (m × p) and the offset (m,) of new rows; NaN where a predictor is missing."""
        rows, complete = prediction_rows(self.formula, self.frame, data, include_random=False)
        X0 = np.full((len(complete), self._beta.size), np.nan)
        X0[complete] = self.fixed.matrix(rows)
        known = np.full(len(complete), np.nan)
        known[complete] = self.offset.on(rows)
        return X0, known

    def summary(self) -> LmSummary:
        """R's ``summary(lm)``: ``str()`` gives the text, its parts are data."""
        from mixedfx.report.lm_summary import LmSummary

        return LmSummary.of(self)

    def __repr__(self) -> str:
        return f"<LinearModel {self.formula.text!r}: nobs={self.nobs}, R²={self.r_squared:.4f}>"
