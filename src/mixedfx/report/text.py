"""Plain-text rendering of a mixed-model summary, laid out as lme4's ``print(summary(m))``."""

from __future__ import annotations

import numpy as np

from mixedfx.report.rformat import (
    DIGITS,
    abbreviate,
    coefmat,
    format_fixed,
    format_numbers,
    table,
    zapsmall,
)
from mixedfx.report.summary_data import LmerSummaryData

DDF_NAMES = {
    "satterthwaite": "Satterthwaite's",
    "kenward-roger": "Kenward-Roger's",
    "residual": "residual df",
}
MAX_CORRELATION_TERMS = 12  # lme4 leaves the correlation matrix out for more fixed effects


def lmer_text(s: LmerSummaryData) -> str:
    """The whole summary as text."""
    method = "REML" if s.method == "REML" else "maximum likelihood"
    tests = f". t-tests use {DDF_NAMES[s.ddf]} method" if s.ddf else ""
    kind = "lmerModLmerTest" if s.ddf else "lmerMod"
    weights = f"\nWeights: {s.weights}" if s.weights else ""
    blocks = [
        f"Linear mixed model fit by {method}{tests} ['{kind}']\nFormula: {s.formula}{weights}",
        _criteria(s),
        "Scaled residuals: \n" + _residuals(s),
        "Random effects:\n" + _random(s) + "\n" + _groups(s),
        _dispersion(s),
        "Fixed effects:\n" + _fixed(s),
    ]
    if 1 < len(s.fixed_effects) <= MAX_CORRELATION_TERMS:
        blocks.append("Correlation of Fixed Effects:\n" + _correlation(s))
    blocks.append("\n".join(_notes(s)))
    return "\n\n".join(b for b in blocks if b) + "\n"


def _criteria(s: LmerSummaryData) -> str:
    if s.method == "REML":
        (label, value), *_ = s.criteria.items()
        return f"{label}: {value:.1f}"
    header = [f"{k:>8s}" for k in s.criteria]
    values = [f"{v:>8.0f}" if k == "df.resid" else f"{v:>8.1f}" for k, v in s.criteria.items()]
    return " ".join(header) + " \n" + " ".join(values) + " "


def _residuals(s: LmerSummaryData) -> str:
    values = format_numbers(zapsmall(s.scaled_residuals.to_numpy(), DIGITS + 1), DIGITS)
    width = max(len(v) for v in [*values, *s.scaled_residuals.index])
    head = " ".join(name.rjust(width) for name in s.scaled_residuals.index)
    return head + " \n" + " ".join(v.rjust(width) for v in values) + " "


def _random(s: LmerSummaryData) -> str:
    re = s.random_effects
    variance = format_numbers(re["variance"].to_numpy(), DIGITS)
    std_dev = format_numbers(re["std_dev"].to_numpy(), DIGITS)
    groups = [str(g) for g in re["group"]]
    correlations = [tuple(c) for c in re["corr"]]
    has_corr = any(correlations)
    rows = []
    for i, (group, name) in enumerate(zip(groups, re["name"])):
        shown = "" if i > 0 and groups[i - 1] == group else group
        cells = [shown, str(name), variance[i], std_dev[i]]
        if has_corr:
            corr = np.asarray(correlations[i], dtype=float)
            cells.append(" ".join(format_fixed(corr, 2)) if corr.size else "")
        rows.append(cells)
    header = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] if has_corr else [])
    return "\n".join(" " + line for line in table(rows, header, ["<"] * len(header)))


def _dispersion(s: LmerSummaryData) -> str:
    """One line per stratum: its residual SD and the ratio to the reference's (σ); or the
    coefficients of log σ for a numeric dispersion variable."""
    if s.dispersion_coef is not None:
        values = format_numbers(s.dispersion_coef.to_numpy(), DIGITS)
        rows = [[str(name), values[i]] for i, name in enumerate(s.dispersion_coef.index)]
        lines = table(rows, ["", "Estimate"], ["<", ">"])
        title = f"Residual standard deviation, log σ by {s.dispersion} (σ at 0: Residual above):"
        return title + "\n" + "\n".join(" " + line for line in lines)
    if s.residual_sd is None or s.dispersion is None:
        return ""
    ratio = format_numbers(s.residual_sd["ratio"].to_numpy(), DIGITS)
    std_dev = format_numbers(s.residual_sd["std_dev"].to_numpy(), DIGITS)
    rows = [[str(level), ratio[i], std_dev[i]] for i, level in enumerate(s.residual_sd.index)]
    lines = table(rows, ["Stratum", "Ratio", "Std.Dev."], ["<", ">", ">"])
    title = f"Residual standard deviation by {s.dispersion}:"
    return title + "\n" + "\n".join(" " + line for line in lines)


def _groups(s: LmerSummaryData) -> str:
    groups = "; ".join(f"{name}, {n}" for name, n in s.ngroups.items())
    return f"Number of obs: {s.nobs}, groups:  {groups}"


def _fixed(s: LmerSummaryData) -> str:
    fe = s.fixed_effects
    if fe.empty:
        return "(none)"
    return "\n".join(coefmat(fe))


def _correlation(s: LmerSummaryData) -> str:
    corr = s.fixed_correlation.to_numpy()
    names = [str(n) for n in s.fixed_correlation.index]
    p = len(names)
    rows = []
    for i in range(1, p):
        cells = format_fixed(corr[i, :i], 3)
        rows.append([names[i], *cells, *[""] * (p - 1 - i)])
    header = ["", *(abbreviate(n) for n in names[:-1])]
    return "\n".join(table(rows, header, ["<"] + [">"] * (p - 1)))


def _notes(s: LmerSummaryData) -> list[str]:
    notes = []
    if s.singular:
        notes.append(
            "boundary (singular) fit: a random-effect variance is (near) zero or a correlation "
            "is ±1; see LinearMixedModel.is_singular"
        )
    if s.n_dropped:
        notes.append(f"{s.n_dropped} row(s) with missing values were removed before fitting")
    if s.n_zero_weight:
        notes.append(f"{s.n_zero_weight} row(s) of weight 0 were left out of the fit")
    if s.dropped_columns:
        dropped = ", ".join(s.dropped_columns)
        notes.append(f"fixed-effect columns dropped as linear combinations of others: {dropped}")
    notes.append(f"Optimizer: {s.optimizer}")
    return notes
