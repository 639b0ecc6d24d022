"""F tests between nested linear models, R's ``anova(lm1, lm2, ...)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedfx.distributions import f_sf
from mixedfx.inference.lrt import check_same_data
from mixedfx.inference.protocol import OlsFit


def lm_anova_table(fits: Sequence[OlsFit], names: Sequence[str]) -> pd.DataFrame:
    """R's ``anova.lmlist``: residual df and RSS per model, then the F test of each model
    against the one above it, scaled by the largest model's residual variance.

    Returns
    -------
    DataFrame
        Columns ``df_resid``, ``rss``, ``df``, ``sum_sq``, ``f_value``, ``p_value``.
    """
    check_same_data(fits)
    df_resid = np.array([f.df_resid for f in fits], dtype=float)
    rss = np.array([f.rss for f in fits])
    scale = min(fits, key=lambda f: f.df_resid).sigma ** 2
    df = np.concatenate([[np.nan], -np.diff(df_resid)])
    sum_sq = np.concatenate([[np.nan], -np.diff(rss)])
    f_value = np.abs(sum_sq / df) / scale
    resid_df = min(f.df_resid for f in fits)
    p_value = f_sf(f_value, np.abs(df), resid_df)
    return pd.DataFrame(
        {
            "df_resid": df_resid,
            "rss": rss,
            "df": df,
            "sum_sq": sum_sq,
            "f_value": f_value,
            "p_value": p_value,
        },
        index=list(names),
    )
