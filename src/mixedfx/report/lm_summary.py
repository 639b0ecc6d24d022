"""R's ``summary(lm)`` as data, with text and HTML renderings."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from mixedfx.report.protocol import FStatistic, ReportedOlsFit
from mixedfx.report.rformat import DIGITS, coefmat, format_numbers, format_pvalue, zapsmall


@dataclass(frozen=True)
class LmSummary:
    """What R's ``summary(lm(...))`` shows.

    Attributes
    ----------
    formula
        As written.
    residuals
        Min, 1Q, Median, 3Q, Max of the residuals.
    coefficients
        Columns ``Estimate``, ``Std. Error``, ``t value``, ``Pr(>|t|)``.
    sigma, df_resid
        Residual standard error and its degrees of freedom.
    r_squared, adj_r_squared
        Multiple and adjusted R².
    fstatistic
        The overall F test, or None for an intercept-only model.
    n_dropped, dropped_columns
        Rows removed for missing values; columns removed for rank deficiency.
    """

    formula: str
    residuals: pd.Series
    coefficients: pd.DataFrame
    sigma: float
    df_resid: int
    r_squared: float
    adj_r_squared: float
    fstatistic: FStatistic | None
    n_dropped: int
    dropped_columns: tuple[str, ...]

    @classmethod
    def of(cls, fit: ReportedOlsFit) -> LmSummary:
        q = np.quantile(fit.residuals, [0, 0.25, 0.5, 0.75, 1])
        table = fit.coef_table().rename(
            columns={
                "estimate": "Estimate",
                "std_error": "Std. Error",
                "statistic": "t value",
                "p_value": "Pr(>|t|)",
            }
        )
        return cls(
            formula=fit.formula.text,
            residuals=pd.Series(q, index=["Min", "1Q", "Median", "3Q", "Max"]),
            coefficients=table,
            sigma=fit.sigma,
            df_resid=fit.df_resid,
            r_squared=fit.r_squared,
            adj_r_squared=fit.adj_r_squared,
            fstatistic=fit.fstatistic,
            n_dropped=fit.n_dropped,
            dropped_columns=fit.dropped_columns,
        )

    def __str__(self) -> str:
        return lm_text(self)

    def _repr_html_(self) -> str:
        return lm_html(self)


def lm_text(s: LmSummary) -> str:
    """The summary laid out as R's ``print(summary(lm))``."""
    values = format_numbers(zapsmall(s.residuals.to_numpy(), DIGITS + 1), DIGITS)
    width = max(len(v) for v in [*values, *s.residuals.index])
    lines = [
        f"Call:\nlm(formula = {s.formula})",
        "",
        "Residuals:",
        " ".join(n.rjust(width) for n in s.residuals.index) + " ",
        " ".join(v.rjust(width) for v in values) + " ",
        "",
        "Coefficients:",
        *coefmat(s.coefficients),
        "",
        f"Residual standard error: {_signif(s.sigma)} on {s.df_resid} degrees of freedom",
    ]
    if s.n_dropped:
        lines[-1] += f"\n  ({s.n_dropped} observation(s) deleted due to missingness)"
    if s.fstatistic is not None:
        f = s.fstatistic
        lines += [
            f"Multiple R-squared:  {_signif(s.r_squared)},\t"
            f"Adjusted R-squared:  {_signif(s.adj_r_squared)} ",
            f"F-statistic: {_signif(f.value)} on {f.num_df} and {f.den_df} DF,  "
            f"p-value: {format_pvalue(f.p_value, DIGITS)}",
        ]
    if s.dropped_columns:
        lines.append(f"Coefficients not defined because of singularities: {s.dropped_columns}")
    return "\n".join(lines) + "\n"


def _signif(x: float) -> str:
    """R's ``formatC(x, digits = 4)``: 4 significant digits."""
    return f"{x:.{DIGITS}g}"


def lm_html(s: LmSummary) -> str:
    """An HTML fragment for Jupyter."""
    parts = [
        f"<h4>Linear model (OLS)</h4><p><code>{escape(s.formula)}</code></p>",
        s.coefficients.to_html(float_format=lambda x: f"{x:.4g}"),
        f"<p>Residual standard error {s.sigma:.4g} on {s.df_resid} df; "
        f"R² {s.r_squared:.4f}, adjusted R² {s.adj_r_squared:.4f}</p>",
    ]
    if s.fstatistic is not None:
        f = s.fstatistic
        parts.append(
            f"<p>F = {f.value:.4g} on {f.num_df} and {f.den_df} df, "
            f"p = {escape(format_pvalue(f.p_value, DIGITS))}</p>"
        )
    return "<div class='mixedfx-summary'>" + "\n".join(parts) + "</div>"
