"""The founding article's analysis on the bundled exercise_mood data, end to end.

Mood against Exercise for residents of four States: the pooled regression finds a clear
exercise effect, the per-State regressions disagree with it and with each other, and a mixed
model with random intercepts and slopes by State reconciles them.  The article then finds that
the States' residual variances differ; the same model with a residual SD per State
(``dispformula="~ State"``) tests that against one residual SD.  `run_demo` fits the models,
draws the figures and writes a self-contained HTML report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mixedfx import datasets
from mixedfx.inference import anova, compare
from mixedfx.models.lm import LinearModel, lm
from mixedfx.models.lmlist import LmList, lm_list
from mixedfx.models.lmm import LinearMixedModel, lmer

SLOPES = "Mood ~ Exercise + (1 + Exercise | State)"


@dataclass(frozen=True)
class DemoResults:
    """The article's models and comparisons.

    Attributes
    ----------
    pooled, with_state
        ``Mood ~ Exercise`` and ``Mood ~ Exercise + State`` by least squares.
    per_state
        ``Mood ~ Exercise`` within each State.
    intercepts, slopes
        Mixed models with random intercepts, and random intercepts and slopes, by ML.
    rmse
        `compare` table of the four models.
    lrt
        Likelihood-ratio test of random intercepts against random slopes.
    heteroscedastic
        The slopes model with a residual SD per State, by ML.
    dispersion_lrt
        Likelihood-ratio test of one residual SD against one per State.
    residual_sds
        Each State's residual SD with its 95% Wald interval (log scale).
    """

    data: pd.DataFrame
    pooled: LinearModel
    with_state: LinearModel
    per_state: LmList
    intercepts: LinearMixedModel
    slopes: LinearMixedModel
    rmse: pd.DataFrame
    lrt: pd.DataFrame
    heteroscedastic: LinearMixedModel
    dispersion_lrt: pd.DataFrame
    residual_sds: pd.DataFrame


def fit_demo() -> DemoResults:
    """Fit the article's models to the bundled data."""
    data = datasets.load("exercise_mood")
    pooled = lm("Mood ~ Exercise", data)
    with_state = lm("Mood ~ Exercise + State", data)
    per_state = lm_list("Mood ~ Exercise | State", data)
    intercepts = lmer("Mood ~ Exercise + (1 | State)", data, reml=False)
    slopes = lmer(SLOPES, data, reml=False)
    names = [
        "lm: Mood ~ Exercise",
        "lm: + State",
        "lmer: (1 | State)",
        "lmer: (1 + Exercise | State)",
    ]
    rmse = compare(pooled, with_state, intercepts, slopes, names=names)
    lrt = anova(intercepts, slopes, names=["random intercepts", "random slopes"])
    heteroscedastic = lmer(SLOPES, data, reml=False, dispformula="~ State")
    dispersion_lrt = anova(
        slopes, heteroscedastic, names=["one residual SD", "a residual SD per State"]
    )
    return DemoResults(
        data,
        pooled,
        with_state,
        per_state,
        intercepts,
        slopes,
        rmse,
        lrt,
        heteroscedastic,
        dispersion_lrt,
        heteroscedastic.residual_sd_intervals(0.95),
    )


def dispersion_finding(results: DemoResults, alpha: float = 0.05) -> str:
    """One sentence on what the test of one residual SD against one per State says."""
    test = results.dispersion_lrt.iloc[-1]
    sds = results.residual_sds["estimate"]
    smallest, largest = str(sds.idxmin()), str(sds.idxmax())
    statistic = f"χ² = {test['chisq']:.2f} on {int(test['df'])} df, p = {test['p_value']:.2g}"
    spread = (
        f"the residual SD ranges from {sds.min():.2f} in State {smallest} "
        f"to {sds.max():.2f} in State {largest}"
    )
    if test["p_value"] < alpha:
        return f"The States' residual variances differ ({statistic}): {spread}."
    return (
        f"The data do not show that the States' residual variances differ ({statistic}), "
        f"although {spread}."
    )


def figures(results: DemoResults) -> dict[str, object]:
    """The article's figures, by file stem (matplotlib Figures)."""
    from mixedfx import plot

    r = results
    return {
        "pooled_fit": plot.fitted_line(r.pooled),
        "pooled_residuals_vs_fitted": plot.residuals_vs_fitted(r.pooled),
        "pooled_residuals_by_state": plot.residuals_by_group(r.pooled, "State", data=r.data),
        "per_state_lines": plot.group_lines(r.per_state),
        "shrinkage": plot.shrinkage(r.pooled, r.per_state, r.slopes),
        "mixed_residuals_by_state": plot.residuals_by_group(r.slopes, "State", standardized=True),
        "dispersion_residuals_by_state": plot.residuals_by_group(
            r.heteroscedastic, "State", standardized=True
        ),
        "random_effects": plot.caterpillar(r.slopes),
        "mixed_qq": plot.qq_residuals(r.slopes),
    }


def run_demo(out: Path) -> tuple[DemoResults, Path]:
    """Fit, draw and write ``out/*.png`` and ``out/report.html``; returns the report's path."""
    from mixedfx.report.demo_html import demo_report

    results = fit_demo()
    out.mkdir(parents=True, exist_ok=True)
    drawn = figures(results)
    for stem, figure in drawn.items():
        figure.savefig(out / f"{stem}.png", dpi=110)  # type: ignore[attr-defined]
    report = out / "report.html"
    r = results
    summaries: dict[str, object] = {
        "pooled": r.pooled.summary(),
        "with_state": r.with_state.summary(),
        "slopes": r.slopes.summary(),
    }
    tables = {
        "per_state": r.per_state.coef_table(),
        "rmse": r.rmse,
        "lrt": r.lrt,
        "dispersion_lrt": r.dispersion_lrt,
        "residual_sds": r.residual_sds,
    }
    text = {"dispersion": dispersion_finding(r)}
    report.write_text(demo_report(summaries, tables, drawn, text), encoding="utf-8")
    return results, report
