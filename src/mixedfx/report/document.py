"""A fit as a JSON-ready document: the numbers a program reading the results needs."""

from __future__ import annotations

import math
from typing import Any

from mixedfx.report.summary_data import ReportedMixedFit


def lmer_document(fit: ReportedMixedFit) -> dict[str, Any]:
    """Estimates, variance components and fit criteria as plain dicts, lists and floats.

    NaN (an undefined correlation) becomes None, so the result serializes as strict JSON.
    """
    table = fit.coef_table("satterthwaite")
    varcorr = fit.varcorr
    return {
        "model": "lmer",
        "formula": fit.formula.text,
        "method": fit.method,
        "nobs": fit.nobs,
        "rows_removed_missing": fit.n_dropped,
        "weights": fit.weights_label,
        "rows_left_out_zero_weight": fit.n_zero_weight,
        "ngroups": fit.ngroups,
        "objective": fit.objective,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "bic": fit.bic,
        "deviance": fit.deviance,
        "df_resid": fit.df_resid,
        "sigma": fit.sigma,
        "dispformula": fit.dispersion_formula,
        "residual_sd_by_stratum": _by_stratum(fit),
        "theta": [float(t) for t in fit.theta],
        "is_singular": fit.is_singular,
        "fixed_effects": {
            "names": list(table.index),
            "estimate": _floats(table["estimate"]),
            "std_error": _floats(table["std_error"]),
            "statistic": _floats(table["statistic"]),
            "df_satterthwaite": _floats(table["df"]),
            "p_value": _floats(table["p_value"]),
        },
        "vcov": [_floats(row) for row in fit.vcov.to_numpy()],
        "varcorr": [
            {k: _clean(v) for k, v in row.items()} for row in varcorr.to_dict(orient="records")
        ],
        "dropped_columns": list(fit.dropped_columns),
        "optimizer": {
            "algorithm": fit.optinfo.algorithm,
            "evaluations": fit.optinfo.evaluations,
            "converged": fit.optinfo.converged,
            "message": fit.optinfo.message,
        },
    }


def _by_stratum(fit: ReportedMixedFit) -> dict[str, float] | None:
    """Each stratum's residual SD, for a dispersion formula that makes strata."""
    strata = fit.dispersion_strata
    return None if strata is None else {str(k): float(v) for k, v in strata.items()}


def _floats(values: Any) -> list[float | None]:
    return [_clean(float(v)) for v in values]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
