"""PIRLS and the Laplace deviance at given θ against lme4 (nAGQ = 0: β inside PIRLS), on
cbpp as proportions with the herd sizes as weights (tests/data/glmm/pirls.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixedfx.data.design import build_design
from mixedfx.data.frame import model_frame
from mixedfx.data.weights import row_arguments
from mixedfx.family.families import FAMILIES, link_of
from mixedfx.formula import parse_formula
from mixedfx.models.pirls import penalty, pirls

HERE = Path(__file__).parent / "data/glmm"
REFERENCE = json.loads((HERE / "pirls.json").read_text())


def cbpp_design():
    data = pd.read_csv(HERE / "cbpp.csv", dtype={"herd": str, "period": str})
    data["prop"] = data["incidence"] / data["size"]
    formula = parse_formula("prop ~ period + (1 | herd)")
    return build_design(formula, model_frame(formula, data, row_arguments(data, "size", None)))


@pytest.mark.parametrize("ref", REFERENCE, ids=lambda r: f"theta={r['theta']}")
def test_laplace_deviance_matches_lme4(ref: dict) -> None:
    """The deviance within 1e-6 (lme4 evaluates its log-determinant at the weights of its last
    decomposition, a step behind), β, ‖u‖² and the conditional −2 log-likelihood within 1e-9."""
    design = cbpp_design()
    family = FAMILIES["binomial"]
    fit = pirls(design, family, link_of(family, None), np.array([ref["theta"]]))
    assert fit.converged
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-6)
    np.testing.assert_allclose(fit.solution.beta, ref["beta"], rtol=1e-8)
    assert penalty(fit.solution) == pytest.approx(ref["sqrL"], abs=1e-9)
    assert family.aic(design.y, fit.mu, design.weights) == pytest.approx(ref["aic"], rel=1e-10)


def test_the_mode_is_stationary() -> None:
    """At PIRLS's solution the penalized deviance's gradient in (β, u) vanishes: perturbing
    any β entry either way raises it (checked by second-order differences)."""
    design = cbpp_design()
    family = FAMILIES["binomial"]
    link = link_of(family, None)
    fit = pirls(design, family, link, np.array([0.8]))
    u = fit.solution.u
    y, prior = design.y, design.weights

    def penalized(beta: np.ndarray) -> float:
        eta = design.linear_predictor(beta, fit.solution.b)
        deviance = family.unit_deviance(y, link.inverse(eta), prior).sum()
        return float(deviance + sum(float(np.sum(x**2)) for x in u))

    base = penalized(fit.solution.beta)
    for e in np.eye(fit.solution.beta.size):
        h = 1e-4
        up, down = penalized(fit.solution.beta + h * e), penalized(fit.solution.beta - h * e)
        assert abs(up - down) / (2 * h) < 1e-6  # the gradient
        assert up > base and down > base


LAPLACE = json.loads((HERE / "laplace.json").read_text())


@pytest.mark.parametrize("point", LAPLACE["points"], ids=["estimate", "off", "far"])
def test_laplace_deviance_at_theta_and_beta_matches_lme4(point: dict) -> None:
    """nAGQ = 1: β held, PIRLS over u (lme4's deviance function of c(θ, β)); at lme4's
    estimate it is −2 logLik of lme4's fit."""
    design = cbpp_design()
    family = FAMILIES["binomial"]
    theta, beta = np.array(point["x"][:1]), np.array(point["x"][1:])
    fit = pirls(design, family, link_of(family, None), theta, beta)
    assert fit.converged
    assert fit.deviance == pytest.approx(point["deviance"], abs=1e-6)
    assert penalty(fit.solution) == pytest.approx(point["sqrL"], abs=1e-8)
    np.testing.assert_array_equal(fit.solution.beta, beta)


FITS = json.loads((HERE / "cbpp_laplace.json").read_text())


@pytest.mark.parametrize("nagq", [0, 1])
def test_two_stage_fit_matches_lme4(nagq: int) -> None:
    """lme4's two stages (θ with β in PIRLS, then (θ, β)): the deviance at least as low as
    lme4's (its PIRLS stops at a looser tolerance), θ within 1e-3, β within 1e-3 relative plus
    1e-3 of lme4's standard errors (the reference set's glmer tolerances)."""
    from mixedfx.models.glmm import fit_glmm
    from mixedfx.optimize import OptimizerOptions

    ref = FITS["nagq0"] if nagq == 0 else FITS
    beta_ref = np.array(ref["beta"] if nagq == 0 else ref["fixef"]["estimate"])
    family = FAMILIES["binomial"]
    fit = fit_glmm(cbpp_design(), family, link_of(family, None), nagq, OptimizerOptions())
    assert fit.optinfo.converged
    assert fit.fit.deviance <= -2 * ref["loglik"] + 1e-6
    assert fit.fit.deviance == pytest.approx(-2 * ref["loglik"], abs=1e-2)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=1e-3)
    se = np.array(FITS["fixef"]["se"])
    assert np.all(np.abs(fit.beta - beta_ref) <= 1e-3 * np.abs(beta_ref) + 1e-3 * se)
