"""The lme4-style summary: its parts as data, and text laid out as lme4 prints it.

Expected figures are lme4 1.1-31's printed output for the same fits.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.report.rformat import abbreviate, format_numbers


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return mfx.datasets.load("sleepstudy")


def test_reml_summary_text(sleep) -> None:
    text = str(mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep).summary(ddf=None))
    assert text.startswith("Linear mixed model fit by REML ['lmerMod']\n")
    assert "REML criterion at convergence: 1743.6\n" in text
    assert "-3.9536 -0.4634  0.0231  0.4634  5.1793" in text
    # R prints 612.10; the variance is flat at the optimum, so its 5th digit is optimizer noise
    assert re.search(r"\n Subject  \(Intercept\) 612\.\d\d   24\.74\d\n", text)
    assert "          Days         35.07    5.922   0.07" in text
    assert " Residual             654.94   25.592" in text
    assert "Number of obs: 180, groups:  Subject, 18" in text
    assert "(Intercept)  251.405      6.825  36.838" in text
    assert "Days          10.467      1.546   6.771" in text
    assert "     (Intr)\nDays -0.138" in text


def test_lmertest_layout_with_satterthwaite(sleep) -> None:
    """lmerTest 3.1-3 prints df 17 and p-values < 2e-16 and 3.26e-06 for this model."""
    text = str(mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep).summary())
    assert "fit by REML. t-tests use Satterthwaite's method ['lmerModLmerTest']" in text
    assert "            Estimate Std. Error     df t value Pr(>|t|)" in text
    assert "(Intercept)  251.405      6.825 17.000  36.838  < 2e-16 ***" in text
    assert "Days          10.467      1.546 17.000   6.771 3.26e-06 ***" in text
    assert "Signif. codes:" in text


def test_ml_summary_header(sleep) -> None:
    text = str(mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep, reml=False).summary())
    assert "fit by maximum likelihood" in text
    assert "     AIC      BIC   logLik deviance df.resid \n" in text
    assert "  1763.9   1783.1   -876.0   1751.9      174 " in text


def test_summary_parts_are_data(sleep) -> None:
    fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    s = fit.summary()
    assert s.fixed_effects.loc["Days", "Estimate"] == pytest.approx(10.467286, abs=1e-5)
    assert s.fixed_effects.loc["Days", "Std. Error"] == pytest.approx(1.545790, rel=2e-3)
    assert s.fixed_correlation.loc["Days", "(Intercept)"] == pytest.approx(-0.138, abs=5e-4)
    re = s.random_effects
    assert list(re["group"]) == ["Subject", "Subject", "Residual"]
    assert re["std_dev"].iloc[0] == pytest.approx(24.740658, rel=2e-3)
    assert re["corr"].iloc[1][0] == pytest.approx(0.06555, abs=5e-3)
    assert s.criteria["REML criterion at convergence"] == pytest.approx(1743.628272, abs=1e-4)
    np.testing.assert_allclose(
        s.scaled_residuals.to_numpy(),
        np.quantile(fit.residuals / fit.sigma, [0, 0.25, 0.5, 0.75, 1]),
        rtol=1e-12,
    )


def test_two_terms_on_one_factor(sleep) -> None:
    s = mfx.lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep).summary()
    assert list(s.random_effects["group"]) == ["Subject", "Subject.1", "Residual"]
    assert " Subject.1 Days" in str(s)


def test_crossed_groups_line() -> None:
    s = mfx.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", mfx.datasets.load("Penicillin"))
    text = str(s.summary(ddf=None))
    assert "Number of obs: 144, groups:  plate, 24; sample, 6" in text
    assert "(Intercept)  22.9722     0.8086   28.41" in text
    assert "Correlation of Fixed Effects" not in text


def test_singular_note_and_html_escaping() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff2"))
    text = str(fit.summary(ddf=None))
    assert "boundary (singular) fit" in text
    assert " Batch    (Intercept)  0.00    0.000" in text
    html = fit.summary()._repr_html_()
    assert "<table" in html
    assert "boundary (singular) fit" in html
    sleep = mfx.datasets.load("sleepstudy").rename(columns={"Days": "Days<x>"})
    html = mfx.lmer("Reaction ~ Q('Days<x>') + (1 | Subject)", sleep).summary()._repr_html_()
    assert "Days&lt;x&gt;" in html
    assert "Days<x>" not in html


def test_r_number_formatting() -> None:
    assert format_numbers([612.1002, 35.0717, 654.94], 4) == ["612.10", " 35.07", "654.94"]
    assert format_numbers([24.7407, 5.9221, 25.5918], 4) == ["24.741", " 5.922", "25.592"]
    assert abbreviate("(Intercept)") == "(Intr)"
    assert abbreviate("Days") == "Days"
