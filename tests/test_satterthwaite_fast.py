"""Satterthwaite's derivatives from the exact gradient against lmerTest's numerical ones.

lmerTest differentiates d(θ, σ) and vcov(β̂)(θ, σ) by numDeriv's Richardson-extrapolated
finite differences of refactorizations (`numderiv`, beside this file, is that computation).
mixedfx takes the Hessian from central differences of the exact gradient and the derivatives
of vcov(β̂) analytically (`mixedfx.inference.varpar`); both must agree with the numerical ones
to their precision.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import mixedfx as mfx
from mixedfx.inference.varpar import VarianceParameters
from mixedfx.pls.cholesky import BlockedCholesky, beta_covariance
from numderiv import hessian, jacobian
from test_inference import TIGHT, fit_case
from test_kr_scale import crossed_data


def numerical(vp: VarianceParameters) -> tuple[np.ndarray, np.ndarray]:
    """lmerTest's Hessian of d(θ, σ) and Jacobian of vcov(β̂)(θ, σ), numDeriv's way."""
    fit = vp.fit

    def factor(varpar: np.ndarray) -> BlockedCholesky:
        chol = vp.objective.factor(varpar[:-1])
        assert chol is not None
        return chol

    def deviance(varpar: np.ndarray) -> float:
        return fit.criterion.at(factor(varpar), sigma=float(varpar[-1]))

    def vcov(varpar: np.ndarray) -> np.ndarray:
        return beta_covariance(factor(varpar), float(varpar[-1]))

    return hessian(deviance, vp.varpar, vp.units), jacobian(vcov, vp.varpar, vp.units)


@pytest.mark.parametrize("name", sorted(TIGHT))
def test_derivatives_equal_numderivs(name: str) -> None:
    """The Hessian within 1e-6 of its largest entry (measured: 5e-10 to 2e-7), the Jacobian
    of vcov(β̂) within 2e-8 of its largest (measured: up to 9e-9, numDeriv's noise on
    entries that are exactly zero in sleepstudy's balanced design).

    At θ = 0 (Dyestuff2) numDeriv's own second differences of values, from its step 1e-4
    at a zero coordinate, err by 1.6e-5 (it gives 19.80940; the second differences of
    values at h = 1e-4 give 19.809727, the gradient's differences 19.8097247 for every h from
    1e-6 to 1e-4): there the tolerance is 2e-5.
    """
    _, fit = fit_case(name)
    vp = VarianceParameters(fit)
    H, J = numerical(vp)
    tolerance = 2e-5 if fit.is_singular else 1e-6
    np.testing.assert_allclose(vp.hessian, H, rtol=tolerance, atol=tolerance * np.abs(H).max())
    np.testing.assert_allclose(vp.vcov_gradient, J, rtol=1e-7, atol=2e-8 * np.abs(J).max())


def test_the_table_costs_two_gradient_evaluations_per_theta() -> None:
    """numDeriv's Hessian of d(θ, σ) took 4 levels × (2 per diagonal entry, 4 per
    off-diagonal pair) evaluations and the Jacobian of vcov(β̂) 8 per parameter: 160 for
    three θ.  The Hessian from the gradient takes 2 per θ entry, vcov's derivatives none."""
    _, fit = fit_case("sleepstudy_slopes_reml")
    fit.coef_table()
    vp = fit.variance_parameters
    assert vp.objective.evaluations == 2 * fit.theta.size


def test_satterthwaite_allocates_far_less_than_one_n_by_q_array() -> None:
    """The model of the Kenward–Roger test (n × q floats: 112 MB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mfx.lmer("y ~ x + (1 | a) + (1 | b)", crossed_data(20_000, (500, 200), 5))
    n, q = fit.nobs, fit.A.structure.q
    tracemalloc.start()
    fit.coef_table()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * n * q * 8
