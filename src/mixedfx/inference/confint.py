"""Confidence intervals for a mixed model's parameters: Wald, profile and bootstrap."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from mixedfx.distributions import norm_ppf
from mixedfx.inference.protocol import MixedFit

Method = Literal["wald", "profile", "bootstrap"]


def wald_intervals(fit: MixedFit, level: float) -> pd.DataFrame:
    """β̂ ± z σ_β̂ for the fixed effects (lme4's ``confint(method = "Wald")``)."""
    z = norm_ppf(0.5 + level / 2)
    beta = fit.fixef.to_numpy()
    se = np.sqrt(np.diag(fit.vcov.to_numpy()))
    return pd.DataFrame(
        {"lower": beta - z * se, "upper": beta + z * se}, index=list(fit.fixef_names)
    )


def confidence_intervals(
    fit: MixedFit,
    method: Method,
    level: float,
    *,
    nsim: int = 1000,
    seed: int | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Dispatch to the interval method; every method returns ``lower`` and ``upper`` columns."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if method == "wald":
        return wald_intervals(fit, level)
    if method == "profile":
        from mixedfx.inference.profile import profile_intervals

        return profile_intervals(fit, level)
    if method == "bootstrap":
        from mixedfx.inference.bootstrap import bootstrap_intervals

        return bootstrap_intervals(fit, level, nsim, seed, n_jobs)
    raise ValueError(f"method must be 'wald', 'profile' or 'bootstrap', got {method!r}")
