"""One table comparing fitted models: the founding article's RMSE comparison, and more."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedfx.errors import ComparabilityWarning
from mixedfx.inference.lrt import check_same_data, is_reml
from mixedfx.inference.protocol import LikelihoodFit, is_mixed, is_ols
from mixedfx.inference.r2 import nakagawa_r2


def compare(*fits: LikelihoodFit, names: list[str] | None = None) -> pd.DataFrame:
    """RMSE, information criteria and R² of several fits to the same data, one row each.

    Parameters
    ----------
    fits
        Linear models and/or linear mixed models, fitted to the same rows and response.
    names
        Row labels; ``model1``, ``model2``, ... when omitted.

    Returns
    -------
    DataFrame
        ``method`` (OLS, ML or REML), ``nobs``, ``rmse`` (sqrt of the mean squared residual;
        random effects included for mixed fits), ``aic``, ``bic``, ``loglik``, ``r2_ols``
        (a linear model's multiple R², as R's ``summary.lm``), and for mixed fits
        ``r2_marginal`` and ``r2_conditional`` (Nakagawa & Schielzeth's, `nakagawa_r2`).
        These R² measure different things, so each has its own column, empty where it does
        not apply.  The AIC, BIC and log-likelihood of a REML fit are those of the REML
        criterion, as R reports them.

    Raises
    ------
    DataError
        When the fits used different rows or responses (as `anova`): their RMSEs and
        likelihoods would not be comparable.

    Warns
    -----
    ComparabilityWarning
        When a REML fit stands beside an OLS or ML fit, or beside a REML fit with other fixed
        effects: REML criteria are comparable only between fits with the same fixed effects.
    """
    labels = names or [f"model{i + 1}" for i in range(len(fits))]
    if len(labels) != len(fits):
        raise ValueError(f"{len(labels)} names for {len(fits)} models")
    if fits:
        check_same_data(fits)
    _warn_if_not_comparable(fits, labels)
    return pd.DataFrame([_row(f) for f in fits], index=labels)


def _warn_if_not_comparable(fits: Sequence[LikelihoodFit], labels: Sequence[str]) -> None:
    reml = [label for fit, label in zip(fits, labels) if is_reml(fit)]
    others = [label for fit, label in zip(fits, labels) if not is_reml(fit)]
    fixed = {fit.fixef_names for fit in fits if is_reml(fit)}
    if reml and (others or len(fixed) > 1):
        beside = (
            f"the ML or OLS log-likelihoods of {', '.join(others)}"
            if others
            else ("each other, as their fixed effects differ")
        )
        warnings.warn(
            f"the AIC, BIC and loglik of the REML fit(s) {', '.join(reml)} are those of the "
            f"REML criterion, not comparable with {beside}; refit with reml=False to "
            "compare them",
            ComparabilityWarning,
            stacklevel=3,
        )


def _row(fit: LikelihoodFit) -> dict[str, object]:
    r2_ols = marginal = conditional = np.nan
    if is_mixed(fit):
        marginal, conditional = nakagawa_r2(fit)
    elif is_ols(fit):
        r2_ols = fit.r_squared
    return {
        "method": fit.method,
        "nobs": fit.nobs,
        "rmse": float(np.sqrt(np.mean(fit.residuals**2))),
        "aic": fit.aic,
        "bic": fit.bic,
        "loglik": fit.loglik,
        "r2_ols": r2_ols,
        "r2_marginal": marginal,
        "r2_conditional": conditional,
    }
