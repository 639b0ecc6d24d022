"""Every reference lmer case against R (lme4 1.1-31), with the tolerances of the reference checker.

Tolerances: objective at most R's + 1e-4 (lower is better); fixed effects within 1e-3 of their
standard error; standard errors 2e-3 relative; σ 1e-3 relative; standard deviations 2e-3
relative; correlations 5e-3; θ 1e-3; conditional modes 1e-3 of their spread; conditional SDs
5e-3 relative; fitted values 1e-4 of sd(y); likelihood figures 1e-3.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import mixedfx as mfx

from conftest import case, case_frame, lmer_cases


def fit_case(name: str) -> tuple[dict, mfx.LinearMixedModel, np.ndarray]:
    ref = case(name)
    data = case_frame(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(ref["formula"], data, reml=ref["reml"])
    return ref, fit, data[ref["formula"].split("~")[0].strip()].to_numpy(float)


def norm(name: str) -> str:
    return ":".join(sorted(str(name).split(":")))


@pytest.fixture(params=lmer_cases())
def fitted(request: pytest.FixtureRequest) -> tuple[dict, mfx.LinearMixedModel, np.ndarray]:
    return fit_case(request.param)


def test_objective_and_likelihood(fitted) -> None:
    ref, fit, _ = fitted
    assert fit.objective <= ref["objective"] + 1e-4
    assert fit.objective >= ref["objective"] - 1e-3
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-3)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-3)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-3)
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-3)
    assert fit.df_resid == ref["df_resid"]
    assert fit.nobs == ref["nobs"]
    assert {norm(k): v for k, v in fit.ngroups.items()} == {
        norm(k): v for k, v in ref["ngroups"].items()
    }
    assert fit.is_singular == ref["is_singular"]


def test_fixed_effects(fitted) -> None:
    ref, fit, _ = fitted
    names = [norm(n) for n in ref["fixef"]["names"]]
    got = fit.fixef.rename(norm)[names].to_numpy()
    se = np.asarray(ref["fixef"]["se"])
    np.testing.assert_allclose(got / se, np.asarray(ref["fixef"]["estimate"]) / se, atol=1e-3)
    vcov = fit.vcov.rename(index=norm, columns=norm).loc[names, names].to_numpy()
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), se, rtol=2e-3)
    np.testing.assert_allclose(vcov, np.asarray(ref["vcov"]), rtol=5e-3, atol=1e-3 * se.max() ** 2)


def test_variance_components(fitted) -> None:
    ref, fit, _ = fitted
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-3)
    theta_tol = 1e-3 * max(1.0, float(np.max(np.abs(ref["theta"]))))
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=theta_tol)
    vc = fit.varcorr
    for term in ref["varcorr"]:
        group = norm(re.sub(r"\.\d+$", "", term["group"]))
        rows = vc[vc["group"].map(lambda g: norm(re.sub(r"\.\d+$", "", g))) == group]
        for name, sd in zip(term["names"], np.atleast_1d(term["sd"])):
            got = rows[(rows["var1"] == name) & rows["var2"].isna()]["sdcor"]
            assert len(got) >= 1, (term["group"], name)
            assert got.iloc[0] == pytest.approx(sd, rel=2e-3, abs=2e-4 * max(ref["sigma"], 1))
        corr = np.asarray(term.get("corr") or [[1.0]])
        for i in range(1, len(term["names"])):
            for j in range(i):
                got = rows[(rows["var1"] == term["names"][j]) & (rows["var2"] == term["names"][i])]
                assert got["sdcor"].iloc[0] == pytest.approx(corr[i, j], abs=5e-3)


def test_conditional_modes(fitted) -> None:
    ref, fit, _ = fitted
    floor = 2e-4 * max(ref["sigma"], 1.0)
    for group, r in ref["ranef"].items():
        key = next(k for k in fit.ranef if norm(k) == norm(group))
        levels = [str(v) for v in r["levels"]]
        if key != group:  # lme4 writes 'cask:batch' levels as 'a:A'; ours follow our label
            levels = [":".join(reversed(v.split(":"))) for v in levels]
        want = np.asarray(r["values"], dtype=float)
        got = fit.ranef[key].loc[levels, r["names"]].to_numpy()
        scale = max(float(np.std(want)), floor)
        np.testing.assert_allclose(got / scale, want / scale, atol=1e-3)
        want_sd = np.asarray(r["condsd"], dtype=float)
        got_sd = fit.ranef_se[key].loc[levels, r["names"]].to_numpy()
        np.testing.assert_allclose(got_sd, want_sd, rtol=5e-3, atol=floor)


def test_fitted_residuals_prediction(fitted) -> None:
    ref, fit, y = fitted
    scale = 1e-4 * np.std(y)
    for field, got in (("fitted", fit.fitted), ("residuals", fit.residuals)):
        want = np.asarray(ref[field])
        np.testing.assert_allclose(got[: want.size] / scale, want / scale, atol=1.0)
    want = np.asarray(ref["predict_fixed_only"])
    got = fit.predict(case_frame(ref), include_random=False)[: want.size]
    np.testing.assert_allclose(got / scale, want / scale, atol=1.0)


def test_coef_is_fixed_plus_random() -> None:
    _ref, fit, _ = fit_case("sleepstudy_slopes_reml")
    coef = fit.coef["Subject"]
    expected = fit.ranef["Subject"] + fit.fixef.to_numpy()[None, :]
    np.testing.assert_allclose(coef.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert list(coef.columns) == ["(Intercept)", "Days"]


@pytest.mark.parametrize(
    "name", ["sleepstudy_anova_intercept_vs_slopes", "exercise_mood_anova_intercept_vs_slopes"]
)
def test_likelihood_ratio_test(name: str) -> None:
    ref = case(name)
    fits = [fit_case(m)[1] for m in ref["models"]]
    table = mfx.anova(*fits)
    last = table.iloc[-1]
    assert last["chisq"] == pytest.approx(ref["chisq"], rel=1e-3, abs=1e-3)
    assert last["df"] == ref["df"]
    assert last["p_value"] == pytest.approx(ref["p"], rel=2e-2, abs=1e-5)
    np.testing.assert_allclose(table["npar"], ref["npar"])
    np.testing.assert_allclose(table["aic"], ref["aic"], atol=1e-3)
