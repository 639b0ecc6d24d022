"""The summary of a mixed-model fit as data: numbers and tables, no formatting.

`LmerSummaryData.of(fit)` collects what lme4's ``summary(m)`` prints; the renderers in
`report.text`, `report.markdown` and `report.html` lay it out, and `report.summary`'s
`LmerSummary` is the same data with those views attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from mixedfx.inference.ftest import DDF
from mixedfx.inference.protocol import MixedFit
from mixedfx.pls.covariance import sd_and_corr
from mixedfx.report.protocol import ReportedFit


class ReportedMixedFit(ReportedFit, MixedFit, Protocol):
    """What lme4's summary of a mixed model shows: the fit as inference sees it, with its
    variance components and coefficient tests."""

    @property
    def varcorr(self) -> pd.DataFrame: ...

    @property
    def ngroups(self) -> dict[str, int]: ...

    @property
    def is_singular(self) -> bool: ...

    @property
    def pearson_residuals(self) -> np.ndarray: ...

    @property
    def weights_label(self) -> str | None: ...

    @property
    def n_zero_weight(self) -> int: ...

    @property
    def dispersion_strata(self) -> pd.Series | None: ...

    @property
    def dispersion_coef(self) -> pd.Series | None: ...

    @property
    def dispersion_formula(self) -> str | None: ...

    def coef_table(self, ddf: DDF = "satterthwaite") -> pd.DataFrame: ...


Summary = TypeVar("Summary", bound="LmerSummaryData")


@dataclass(frozen=True)
class LmerSummaryData:
    """What lme4's ``summary(lmer(...))`` shows, as data.

    Attributes
    ----------
    method
        ``"REML"`` or ``"ML"``.
    formula
        The formula as written.
    criteria
        REML fits: ``{"REML criterion": ...}``; ML fits: AIC, BIC, logLik, deviance, df.resid.
    scaled_residuals
        Min, 1Q, Median, 3Q, Max of the Pearson residuals √w (y − fitted) / (σ δ).
    random_effects
        One row per variance: ``group``, ``name``, ``variance``, ``std_dev``, and the
        correlations with the term's earlier coefficients in ``corr`` (a tuple per row).
    nobs, ngroups
        Observations used and levels per grouping factor.
    fixed_effects
        Columns ``Estimate``, ``Std. Error``, then ``df`` when a df method was used,
        ``t value``, and ``Pr(>|t|)`` with a df method.
    ddf
        The df method of the t tests (``"satterthwaite"``, ...) or None for none.
    fixed_correlation
        Correlation matrix of the fixed-effect estimates (p × p).
    singular
        True for a boundary fit.
    n_dropped
        Rows removed for missing values.
    dropped_columns
        Fixed-effect columns removed for rank deficiency.
    optimizer
        One line on the optimizer: algorithm, evaluations, outcome.
    weights
        How the prior weights were given (a column name, ``"(array)"``); None without.
    n_zero_weight
        Rows left out of the fit for a weight of 0.
    dispersion
        The right side of the dispersion formula (``"State"``), or None.
    residual_sd
        With a dispersion formula: per stratum, ``ratio`` (its residual SD over σ, the
        reference stratum's) and ``std_dev``; None without.
    dispersion_coef
        With a numeric dispersion variable: γ̂, each term's effect on log σ (σ the residual
        SD where the terms are 0); None otherwise.
    """

    method: str
    formula: str
    criteria: dict[str, float]
    scaled_residuals: pd.Series
    random_effects: pd.DataFrame
    nobs: int
    ngroups: dict[str, int]
    fixed_effects: pd.DataFrame
    ddf: str | None
    fixed_correlation: pd.DataFrame
    singular: bool
    n_dropped: int
    dropped_columns: tuple[str, ...]
    optimizer: str
    weights: str | None = None
    n_zero_weight: int = 0
    dispersion: str | None = None
    residual_sd: pd.DataFrame | None = None
    dispersion_coef: pd.Series | None = None

    @classmethod
    def of(cls: type[Summary], fit: ReportedMixedFit, ddf: DDF = "satterthwaite") -> Summary:
        """Collect the summary of `fit`, with t tests using the `ddf` method."""
        table = fit.coef_table(ddf)
        fixed = table.rename(
            columns={
                "estimate": "Estimate",
                "std_error": "Std. Error",
                "statistic": "t value",
                "p_value": "Pr(>|t|)",
            }
        )
        columns = (
            ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
            if ddf
            else ["Estimate", "Std. Error", "t value"]
        )
        vcov = fit.vcov.to_numpy()
        _, corr = sd_and_corr(vcov) if vcov.size else (None, np.zeros((0, 0)))
        opt = fit.optinfo
        outcome = "converged" if opt.converged else "did NOT converge"
        return cls(
            method=fit.method,
            formula=fit.formula.text,
            criteria=_criteria(fit),
            scaled_residuals=_quantiles(fit.pearson_residuals / fit.sigma),
            random_effects=_random_effects(fit),
            nobs=fit.nobs,
            ngroups=fit.ngroups,
            fixed_effects=fixed[columns],
            ddf=ddf,
            fixed_correlation=pd.DataFrame(corr, index=fixed.index, columns=fixed.index),
            singular=fit.is_singular,
            n_dropped=fit.n_dropped,
            dropped_columns=fit.dropped_columns,
            optimizer=f"{opt.algorithm}, {opt.evaluations} evaluations, {outcome} ({opt.message})",
            weights=fit.weights_label,
            n_zero_weight=fit.n_zero_weight,
            dispersion=_right_side(fit.dispersion_formula),
            residual_sd=_residual_sd(fit),
            dispersion_coef=None if fit.dispersion_strata is not None else fit.dispersion_coef,
        )


def _criteria(fit: ReportedMixedFit) -> dict[str, float]:
    if fit.method == "REML":
        return {"REML criterion at convergence": fit.objective}
    return {
        "AIC": fit.aic,
        "BIC": fit.bic,
        "logLik": fit.loglik,
        "deviance": fit.deviance,
        "df.resid": float(fit.df_resid),
    }


def _quantiles(values: np.ndarray) -> pd.Series:
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return pd.Series(q, index=["Min", "1Q", "Median", "3Q", "Max"])


def _random_effects(fit: ReportedMixedFit) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for group, names, cov in zip(fit.group_names, fit.term_names, fit.covariances):
        sd, corr = sd_and_corr(cov)
        for i, name in enumerate(names):
            rows.append(
                {
                    "group": group,
                    "name": name,
                    "variance": cov[i, i],
                    "std_dev": sd[i],
                    "corr": tuple(corr[i, :i]),
                }
            )
    rows.append(
        {
            "group": "Residual",
            "name": "",
            "variance": fit.sigma**2,
            "std_dev": fit.sigma,
            "corr": (),
        }
    )
    return pd.DataFrame(rows)


def _right_side(formula: str | None) -> str | None:
    return None if formula is None else formula.strip().removeprefix("~").strip()


def _residual_sd(fit: ReportedMixedFit) -> pd.DataFrame | None:
    """Each stratum's SD over σ and its SD, for a dispersion formula that makes strata."""
    sds = fit.dispersion_strata
    if sds is None:
        return None
    return pd.DataFrame({"ratio": sds / fit.sigma, "std_dev": sds}, index=sds.index)
