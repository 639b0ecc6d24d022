"""One table comparing fitted models: the founding article's RMSE comparison, and more."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedfx.inference.r2 import nakagawa_r2
from mixedfx.lm import LinearModel
from mixedfx.lmm import LinearMixedModel


def compare(*fits: LinearModel | LinearMixedModel, names: list[str] | None = None) -> pd.DataFrame:
    """RMSE, information criteria and R² of several fits, one row each.

    Parameters
    ----------
    fits
        Linear models and/or linear mixed models.
    names
        Row labels; ``model1``, ``model2``, ... when omitted.

    Returns
    -------
    DataFrame
        ``nobs``, ``rmse`` (sqrt of the mean squared residual; random effects included for
        mixed fits), ``aic``, ``bic``, ``loglik``, ``r2`` (lm's R²; for mixed fits the
        marginal R² of Nakagawa & Schielzeth) and ``r2_conditional`` (mixed fits only).
        AIC of REML fits is REML-based, as R reports it: compare it only between fits
        with the same fixed effects.
    """
    labels = names or [f"model{i + 1}" for i in range(len(fits))]
    if len(labels) != len(fits):
        raise ValueError(f"{len(labels)} names for {len(fits)} models")
    return pd.DataFrame([_row(f) for f in fits], index=labels)


def _row(fit: LinearModel | LinearMixedModel) -> dict[str, object]:
    if isinstance(fit, LinearMixedModel):
        r2 = nakagawa_r2(fit)
        marginal, conditional = r2.marginal, r2.conditional
        method = "REML" if fit.reml else "ML"
    else:
        marginal, conditional, method = fit.r_squared, np.nan, "OLS"
    return {
        "method": method,
        "nobs": fit.nobs,
        "rmse": float(np.sqrt(np.mean(fit.residuals**2))),
        "aic": fit.aic,
        "bic": fit.bic,
        "loglik": fit.loglik,
        "r2": marginal,
        "r2_conditional": conditional,
    }
