"""Markdown rendering of a mixed-model summary (for notebooks, issues and reports)."""

from __future__ import annotations

import pandas as pd

from mixedfx.report.summary_data import LmerSummaryData


def lmer_markdown(s: LmerSummaryData) -> str:
    """The summary as Markdown: a heading, the criteria, and the tables."""
    method = "REML" if s.method == "REML" else "maximum likelihood"
    random = s.random_effects.assign(
        corr=[", ".join(f"{c:.2f}" for c in row) for row in s.random_effects["corr"]]
    )
    groups = ", ".join(f"{k}: {n}" for k, n in s.ngroups.items())
    parts = [
        f"### Linear mixed model fit by {method}\n\n`{s.formula}`",
        _table(pd.DataFrame([s.criteria]), index=False),
        "**Random effects**\n\n" + _table(random, index=False),
        f"Number of obs: {s.nobs}; groups: {groups}",
        "**Fixed effects**\n\n" + _table(s.fixed_effects, index=True),
    ]
    if s.residual_sd is not None:
        title = f"**Residual standard deviation by {s.dispersion}**\n\n"
        parts.insert(4, title + _table(s.residual_sd, index=True))
    if s.singular:
        parts.append("*boundary (singular) fit: a variance is (near) zero or a correlation ±1*")
    parts.append(f"*Optimizer: {s.optimizer}*")
    return "\n\n".join(parts) + "\n"


def _table(frame: pd.DataFrame, *, index: bool) -> str:
    """A pipe table; numbers with 6 significant digits."""
    shown = frame.reset_index() if index else frame
    header = ["" if index and i == 0 else str(c) for i, c in enumerate(shown.columns)]
    rows = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|")
