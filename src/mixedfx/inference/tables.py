"""Coefficient and ANOVA tables of a mixed model with t and F tests (lmerTest's summary/anova)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedfx.distributions import norm_sf, t_sf
from mixedfx.inference.contrasts import term_contrasts
from mixedfx.inference.ftest import DDF, check_ddf, contrast_test
from mixedfx.inference.protocol import MixedFit


def coef_table(fit: MixedFit, ddf: DDF) -> pd.DataFrame:
    """Estimates with standard errors, df, t statistics and two-sided p-values.

    With ``ddf=None`` the statistics are z tests (df infinite).  Kenward–Roger uses its
    adjusted standard errors, as lmerTest's ``summary(ddf = "Kenward-Roger")``.
    """
    check_ddf(ddf)
    beta = fit.fixef.to_numpy()
    p = beta.size
    if ddf == "kenward-roger":
        from mixedfx.inference.kenward_roger import kenward_roger_vcov

        se = np.sqrt(np.diag(kenward_roger_vcov(fit)))
    else:
        se = np.sqrt(np.diag(fit.vcov.to_numpy()))
    df = np.array([contrast_test(fit, np.eye(p)[j], ddf).den_df for j in range(p)])
    t = beta / se
    p_value = np.where(
        np.isfinite(df),
        2 * t_sf(np.abs(t), np.where(np.isfinite(df), df, 1)),
        2 * norm_sf(np.abs(t)),
    )
    return pd.DataFrame(
        {"estimate": beta, "std_error": se, "df": df, "statistic": t, "p_value": p_value},
        index=list(fit.fixef_names),
    )


def anova_table(fit: MixedFit, ddf: DDF, kind: int) -> pd.DataFrame:
    """One F test per fixed-effects term (lmerTest's ``anova(m, type, ddf)``).

    Columns ``sum_sq`` and ``mean_sq`` (the F statistic scaled by σ², as lmerTest reports
    them), ``num_df``, ``den_df``, ``f_value``, ``p_value``; one row per term.
    """
    rows = {}
    for term, L in term_contrasts(fit, kind).items():
        test = contrast_test(fit, L, ddf)
        mean_sq = test.f_value * fit.sigma**2
        rows[term] = [
            mean_sq * test.num_df,
            mean_sq,
            test.num_df,
            test.den_df,
            test.f_value,
            test.p_value,
        ]
    columns = ["sum_sq", "mean_sq", "num_df", "den_df", "f_value", "p_value"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.attrs["method"] = f"Type {'I' * kind if kind < 3 else 'III'} with {ddf or 'no'} ddf"
    return table
