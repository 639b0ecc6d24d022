"""HTML rendering of a mixed-model summary, for Jupyter's rich display."""

from __future__ import annotations

from html import escape

import pandas as pd

from mixedfx.report.summary_data import LmerSummaryData


def lmer_html(s: LmerSummaryData) -> str:
    """A self-contained HTML fragment: headings, tables and notes."""
    method = "REML" if s.method == "REML" else "maximum likelihood"
    criteria = pd.DataFrame([s.criteria]).to_html(index=False, float_format=_number)
    random = s.random_effects.assign(
        corr=[", ".join(f"{c:.2f}" for c in row) for row in s.random_effects["corr"]]
    ).to_html(index=False, float_format=_number, na_rep="")
    groups = ", ".join(f"{escape(str(k))}: {n}" for k, n in s.ngroups.items())
    parts = [
        f"<h4>Linear mixed model fit by {method}</h4>",
        f"<p><code>{escape(s.formula)}</code></p>",
        criteria,
        "<h5>Random effects</h5>",
        random,
        f"<p>Number of obs: {s.nobs}; groups: {groups}</p>",
        "<h5>Fixed effects</h5>",
        s.fixed_effects.to_html(float_format=_number),
    ]
    if s.residual_sd is not None:
        title = f"<h5>Residual standard deviation by {escape(str(s.dispersion))}</h5>"
        parts[6:6] = [title, s.residual_sd.to_html(float_format=_number)]
    notes = []
    if s.singular:
        notes.append("boundary (singular) fit: a variance is (near) zero or a correlation ±1")
    if s.n_dropped:
        notes.append(f"{s.n_dropped} row(s) with missing values removed")
    if s.dropped_columns:
        notes.append("dropped (rank deficient): " + ", ".join(s.dropped_columns))
    notes.append("Optimizer: " + s.optimizer)
    parts += [f"<p><em>{escape(n)}</em></p>" for n in notes]
    return "<div class='mixedfx-summary'>" + "\n".join(parts) + "</div>"


def _number(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e-3 or abs(x) >= 1e6 else f"{x:.4f}".rstrip("0").rstrip(".")
