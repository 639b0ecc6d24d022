"""`anova(*fits)`: compare nested models, dispatching on the kind of fit."""

from __future__ import annotations

import pandas as pd

from mixedfx.inference.ftest_lm import lm_anova_table
from mixedfx.inference.lrt import likelihood_ratio_table
from mixedfx.inference.protocol import LikelihoodFit, is_mixed, is_ols


def anova(
    *fits: LikelihoodFit,
    names: list[str] | None = None,
    method: str = "lrt",
    nsim: int = 1000,
    seed: int | None = None,
) -> pd.DataFrame:
    """Compare nested models.

    With a linear mixed model among them: likelihood-ratio tests as lme4's
    ``anova(m1, m2, ...)`` (REML fits refitted by ML, with a `RefitWarning` as lme4's
    message; rows ordered by number of parameters).  A linear model may be among them, as in
    lme4 and MixedModels.jl, with its ML log-likelihood.  For linear models alone: F tests as
    R's ``anova(lm1, lm2, ...)``, in the order given.

    Parameters
    ----------
    fits
        Two or more fits to the same data.
    names
        Row labels; ``model1``, ``model2``, ... in the order given when omitted.
    method
        ``"lrt"`` (χ² reference), or ``"bootstrap"`` for two mixed models: the parametric
        bootstrap p-value of pbkrtest's ``PBmodcomp`` from `nsim` simulations with `seed`.

    Returns
    -------
    DataFrame
        Mixed models: columns ``npar``, ``aic``, ``bic``, ``loglik``, ``deviance``,
        ``chisq``, ``df``, ``p_value``; ``attrs["note"]`` says whether models were refitted.
        Linear models: ``df_resid``, ``rss``, ``df``, ``sum_sq``, ``f_value``, ``p_value``.
    """
    if len(fits) < 2:
        raise TypeError("anova() compares two or more fitted models")
    labels = names or [f"model{i + 1}" for i in range(len(fits))]
    if len(labels) != len(fits):
        raise ValueError(f"{len(labels)} names for {len(fits)} models")
    mixed = [f for f in fits if is_mixed(f)]
    if method == "bootstrap":
        if len(mixed) != 2 or len(fits) != 2:
            raise TypeError("the bootstrap comparison takes exactly two mixed models")
        from mixedfx.inference.pbmodcomp import bootstrap_lrt

        return bootstrap_lrt(mixed[0], mixed[1], nsim, seed)
    if method != "lrt":
        raise ValueError(f"method must be 'lrt' or 'bootstrap', got {method!r}")
    linear = [f for f in fits if is_ols(f)]
    if len(linear) == len(fits):
        return lm_anova_table(linear, labels)
    if len(mixed) + len(linear) == len(fits):
        return likelihood_ratio_table(fits, labels)
    kinds = sorted({type(f).__name__ for f in fits})
    raise TypeError(f"anova() compares linear and linear mixed models; got {kinds}")
