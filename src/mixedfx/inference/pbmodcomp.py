"""Parametric bootstrap comparison of nested mixed models (pbkrtest's ``PBmodcomp``).

The likelihood-ratio statistic's null distribution is simulated instead of taken as χ²:
responses are drawn from the smaller model (fitted by ML), both models are refitted to each,
and the p-value is the share of simulated statistics at least as large as the observed one,
(1 + #{LRT* ≥ LRT}) / (1 + nsim).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedfx.inference.bootstrap import Refitter, draw_response
from mixedfx.inference.lrt import as_ml, check_same_data, warn_refits
from mixedfx.models.lmm import LinearMixedModel


def bootstrap_lrt(
    small: LinearMixedModel, large: LinearMixedModel, nsim: int, seed: int | None
) -> pd.DataFrame:
    """One-row table: the observed statistic, its df, the χ² and the bootstrap p-values."""
    from scipy import stats

    check_same_data([small, large])
    warn_refits([small, large], ["model1", "model2"], stacklevel=3)
    small, large = sorted((as_ml(small), as_ml(large)), key=lambda f: f.npar)
    observed = max(small.deviance - large.deviance, 0.0)
    refit_small, refit_large = Refitter.of(small), Refitter.of(large)
    simulated = []
    for stream in np.random.SeedSequence(seed).spawn(nsim):
        y = draw_response(small, np.random.default_rng(stream))
        simulated.append(refit_small.ml_deviance(y) - refit_large.ml_deviance(y))
    lrt = np.maximum(np.array(simulated), 0.0)
    df = large.npar - small.npar
    return pd.DataFrame(
        {
            "chisq": [observed],
            "df": [df],
            "p_chisq": [float(stats.chi2.sf(observed, df))],
            "p_value": [(1 + np.sum(lrt >= observed)) / (1 + lrt.size)],
            "nsim": [lrt.size],
        },
        index=["parametric bootstrap"],
    )
