"""Likelihood-ratio tests between nested linear mixed models, as lme4's ``anova(m1, m2, ...)``.

REML criteria of models with different fixed effects are not comparable, so REML fits are
refitted by maximum likelihood first (lme4's ``refit = TRUE``), and the table says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mixedfx.errors import DataError
from mixedfx.lmm import LinearMixedModel, lmer

COLUMNS = ["npar", "aic", "bic", "loglik", "deviance", "chisq", "df", "p_value"]


def likelihood_ratio_table(fits: Sequence[LinearMixedModel], names: Sequence[str]) -> pd.DataFrame:
    """lme4's ``anova()`` table for nested mixed models.

    Parameters
    ----------
    fits
        Two or more fits to the same rows; REML fits are refitted by ML.
    names
        One label per fit, used as the table's index.

    Returns
    -------
    DataFrame
        One row per model, ordered by number of parameters, with columns `COLUMNS`; the
        test columns compare each model with the one above it.  ``attrs["refitted"]`` lists
        the models refitted by ML and ``attrs["note"]`` says so in words.
    """
    check_same_data(fits)
    refitted = [name for fit, name in zip(fits, names) if fit.reml]
    ml_fits = [as_ml(fit) for fit in fits]
    order = sorted(range(len(fits)), key=lambda i: ml_fits[i].npar)
    rows = [_row(ml_fits[i]) for i in order]
    table = pd.DataFrame(rows, index=[names[i] for i in order], columns=COLUMNS[:5])
    chisq = np.concatenate([[np.nan], -np.diff(table["deviance"].to_numpy())])
    df = np.concatenate([[np.nan], np.diff(table["npar"].to_numpy())]).astype(float)
    table["chisq"] = np.where(np.isnan(df), np.nan, np.maximum(chisq, 0.0))
    table["df"] = df
    table["p_value"] = [stats.chi2.sf(c, d) if d > 0 else np.nan for c, d in zip(chisq, df)]
    table.attrs["refitted"] = refitted
    table.attrs["note"] = (
        f"refitted {', '.join(refitted)} by ML (instead of REML) to compare likelihoods"
        if refitted
        else ""
    )
    return table


def as_ml(fit: LinearMixedModel) -> LinearMixedModel:
    """The same model fitted by maximum likelihood (the fit itself if it already is)."""
    if not fit.reml:
        return fit
    return lmer(fit.formula.text, fit.frame.data, reml=False, optimizer=fit.optinfo.options)


def check_same_data(fits: Sequence[LinearMixedModel]) -> None:
    """Raise `DataError` unless every fit used the same number of rows and the same response."""
    first = fits[0]
    for fit in fits[1:]:
        same = fit.nobs == first.nobs and np.array_equal(fit.design.y, first.design.y)
        if not same:
            raise DataError(
                f"models were fitted to different data ({first.nobs} vs {fit.nobs} rows, or a "
                "different response); refit them to the same rows, e.g. after removing rows "
                "with missing values in any variable either model uses"
            )


def _row(fit: LinearMixedModel) -> list[float]:
    return [fit.npar, fit.aic, fit.bic, fit.loglik, fit.deviance]
