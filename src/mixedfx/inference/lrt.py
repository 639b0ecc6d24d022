"""Likelihood-ratio tests between nested models, as lme4's ``anova(m1, m2, ...)``.

REML criteria of models with different fixed effects are not comparable, so REML fits are
refitted by maximum likelihood first (lme4's ``refit = TRUE``), with a `RefitWarning` as
lme4's message.  A linear model may take part (lme4's ``anova(lmer_fit, lm_fit)``,
MixedModels.jl's ``likelihoodratiotest``): its maximized log-likelihood is already the ML one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedfx.distributions import chi2_sf
from mixedfx.errors import DataError, RefitWarning
from mixedfx.inference.protocol import LikelihoodFit, MixedFit, is_mixed
from mixedfx.pls.criterion import ML

COLUMNS = ["npar", "aic", "bic", "loglik", "deviance", "chisq", "df", "p_value"]


def likelihood_ratio_table(fits: Sequence[LikelihoodFit], names: Sequence[str]) -> pd.DataFrame:
    """lme4's ``anova()`` table for nested models, mixed and linear.

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

    Warns
    -----
    RefitWarning
        When REML fits were refitted by ML, naming them.
    """
    check_same_data(fits)
    refitted = warn_refits(fits, names, stacklevel=3)
    ml_fits = [as_ml(fit) if is_mixed(fit) else fit for fit in fits]
    order = sorted(range(len(fits)), key=lambda i: ml_fits[i].npar)
    rows = [_row(ml_fits[i]) for i in order]
    table = pd.DataFrame(rows, index=[names[i] for i in order], columns=COLUMNS[:5])
    chisq = np.concatenate([[np.nan], -np.diff(table["deviance"].to_numpy())])
    df = np.concatenate([[np.nan], np.diff(table["npar"].to_numpy())]).astype(float)
    table["chisq"] = np.where(np.isnan(df), np.nan, np.maximum(chisq, 0.0))
    table["df"] = df
    table["p_value"] = [float(chi2_sf(c, d)) if d > 0 else np.nan for c, d in zip(chisq, df)]
    table.attrs["refitted"] = refitted
    table.attrs["note"] = _refit_note(refitted)
    return table


def is_reml(fit: LikelihoodFit) -> bool:
    """Whether the fit is a REML fit of a mixed model (whose criterion is not a likelihood)."""
    return fit.method == "REML"


def warn_refits(fits: Sequence[LikelihoodFit], names: Sequence[str], stacklevel: int) -> list[str]:
    """The names of the REML fits, which a likelihood comparison refits by ML, with a
    `RefitWarning` naming them if there are any.

    lme4 prints "refitting model(s) with ML (instead of REML)".  A Python warning says it
    as visibly (shown once per call site by default) and can be silenced, or made an error,
    by its class.  `stacklevel` is what the caller would pass to `warnings.warn`.
    """
    refitted = [name for fit, name in zip(fits, names) if is_reml(fit)]
    if refitted:
        warnings.warn(_refit_note(refitted), RefitWarning, stacklevel=stacklevel + 1)
    return refitted


def _refit_note(refitted: Sequence[str]) -> str:
    if not refitted:
        return ""
    return (
        f"refitting model(s) with ML (instead of REML): {', '.join(refitted)} refitted to "
        "compare likelihoods"
    )


def as_ml(fit: MixedFit) -> MixedFit:
    """The same model fitted by maximum likelihood (the fit itself if it already is)."""
    return fit.refit(ML())


def check_same_data(fits: Sequence[LikelihoodFit]) -> None:
    """Raise `DataError` unless every fit used the same number of rows and the same response."""
    first = fits[0]
    for fit in fits[1:]:
        same = fit.nobs == first.nobs and fit.response_digest == first.response_digest
        if not same:
            raise DataError(
                f"models were fitted to different data ({first.nobs} vs {fit.nobs} rows, or a "
                "different response); refit them to the same rows, e.g. after removing rows "
                "with missing values in any variable either model uses"
            )


def _row(fit: LikelihoodFit) -> list[float]:
    return [fit.npar, fit.aic, fit.bic, fit.loglik, -2 * fit.loglik]
