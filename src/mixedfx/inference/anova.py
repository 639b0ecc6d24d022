"""`anova(*fits)`: compare nested models, dispatching on the kind of fit."""

from __future__ import annotations

import pandas as pd

from mixedfx.inference.lrt import likelihood_ratio_table
from mixedfx.lmm import LinearMixedModel


def anova(*fits: LinearMixedModel, names: list[str] | None = None) -> pd.DataFrame:
    """Compare nested models.

    For linear mixed models: likelihood-ratio tests as lme4's ``anova(m1, m2, ...)``
    (REML fits refitted by ML; rows ordered by number of parameters).

    Parameters
    ----------
    fits
        Two or more fits of the same kind, to the same data.
    names
        Row labels; ``model1``, ``model2``, ... in the order given when omitted.

    Returns
    -------
    DataFrame
        Columns ``npar``, ``aic``, ``bic``, ``loglik``, ``deviance``, ``chisq``, ``df``,
        ``p_value``; ``attrs["note"]`` says whether models were refitted.
    """
    if len(fits) < 2:
        raise TypeError("anova() compares two or more fitted models")
    labels = names or [f"model{i + 1}" for i in range(len(fits))]
    if len(labels) != len(fits):
        raise ValueError(f"{len(labels)} names for {len(fits)} models")
    if all(isinstance(f, LinearMixedModel) for f in fits):
        return likelihood_ratio_table(fits, labels)
    kinds = sorted({type(f).__name__ for f in fits})
    raise TypeError(f"anova() compares fits of one kind; got {kinds}")
