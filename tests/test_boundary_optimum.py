"""Optima far from θ's usual scale: a residual variance near zero, covariates in odd units.

R's numbers come from tests/data/inputs_numeric.R; the near-exact data also have a closed-form
REML optimum (a balanced one-way design) and are checked against a dense textbook deviance.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize

import mixedfx as mfx
from mixedfx.optimize import OptimizerOptions, OptSummary, verify_stationary

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def near_exact() -> pd.DataFrame:
    """y = g + 1e-4 · noise: 8 groups of 10 rows, residual variance 1e-9 of the groups'."""
    return pd.read_csv(DATA / "near_exact.csv")


def one_way_reml(data: pd.DataFrame) -> tuple[float, float, float]:
    """The balanced one-way REML estimates in closed form (σ²_b, σ², β): the ANOVA estimators
    (MSB − MSW)/m and MSW, and the grand mean, which GLS gives for any variances."""
    groups = data.groupby("g")["y"]
    m, ell, n = int(groups.size().iloc[0]), groups.ngroups, len(data)
    means = groups.transform("mean")
    msw = float(((data["y"] - means) ** 2).sum()) / (n - ell)
    msb = m * float(((groups.mean() - data["y"].mean()) ** 2).sum()) / (ell - 1)
    return (msb - msw) / m, msw, float(data["y"].mean())


def textbook_reml(theta: np.ndarray, X: np.ndarray, Z: np.ndarray, y: np.ndarray) -> float:
    """−2 × the REML log-likelihood profiled over σ, from V₀ = I + Z Λ Λᵀ Zᵀ on the rows
    (dense, O(n³)), with Λ = diag(θ) for independent coefficients."""
    n, p = X.shape
    V = np.eye(n) + (Z * theta**2) @ Z.T
    factor = cho_factor(V, lower=True)
    XtVX = X.T @ cho_solve(factor, X)
    beta = np.linalg.solve(XtVX, X.T @ cho_solve(factor, y))
    r = y - X @ beta
    r2 = float(r @ cho_solve(factor, r))
    logdet = 2 * np.sum(np.log(np.diag(factor[0]))) + np.linalg.slogdet(XtVX)[1]
    return logdet + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))


def test_closed_form_agrees_with_the_textbook_deviance(near_exact: pd.DataFrame) -> None:
    """The reference itself: the dense deviance, minimized from several starts, finds the
    closed-form θ = σ_b / σ."""
    y = near_exact["y"].to_numpy()
    Z = pd.get_dummies(near_exact["g"]).to_numpy(dtype=float)
    X = np.ones((len(y), 1))
    runs = [
        minimize(lambda t: textbook_reml(np.exp(t), X, Z, y), [np.log(s)], method="Nelder-Mead")
        for s in (1e2, 1e4, 1e6)
    ]
    best = min(runs, key=lambda r: r.fun)
    var_b, var_e, _ = one_way_reml(near_exact)
    assert np.exp(best.x[0]) == pytest.approx(np.sqrt(var_b / var_e), rel=1e-4)


def test_residual_variance_near_zero_reaches_the_optimum(near_exact: pd.DataFrame) -> None:
    """Before the optimizer worked in θ's own units it stopped at its start (θ ≈ 24553, the
    group variance 5.25, where the optimum is 6.0) and reported convergence.  lme4 gives
    6.00215 (REMLcrit −1080.01750); the closed form 5.99999.  The cross-products resolve the
    deviance to about 3e-5 here, so θ to about 1e-3."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", mfx.ConvergenceWarning)
        fit = mfx.lmer("y ~ 1 + (1 | g)", near_exact)
    var_b, var_e, mean = one_way_reml(near_exact)
    assert fit.optinfo.converged
    assert fit.varcorr["vcov"].iloc[0] == pytest.approx(var_b, rel=2e-3)
    assert fit.sigma**2 == pytest.approx(var_e, rel=2e-3)
    assert fit.fixef.iloc[0] == pytest.approx(mean, abs=1e-5)
    assert fit.objective == pytest.approx(-1080.0175003427, abs=2e-4)


def test_ml_with_residual_variance_near_zero(near_exact: pd.DataFrame) -> None:
    """lme4: θ = 24725.4191, group variance 5.24999335 (the ML closed form 5.2499932)."""
    fit = mfx.lmer("y ~ 1 + (1 | g)", near_exact, reml=False)
    assert fit.optinfo.converged
    assert fit.theta[0] == pytest.approx(24725.4191072268, rel=1e-4)
    assert fit.varcorr["vcov"].iloc[0] == pytest.approx(5.24999335310049, rel=1e-4)


def test_a_stalled_optimizer_is_not_reported_converged(near_exact: pd.DataFrame) -> None:
    """BOBYQA in θ's units (lme4's setup) stops by its step tolerance near its start, 0.06
    above the optimum; that used to be reported as converged."""
    with pytest.warns(mfx.ConvergenceWarning, match="predicts a further decrease"):
        fit = mfx.lmer("y ~ 1 + (1 | g)", near_exact, optimizer=OptimizerOptions(method="bobyqa"))
    assert not fit.optinfo.converged


def test_verification_rejects_a_point_off_the_optimum(near_exact: pd.DataFrame) -> None:
    """A record claiming convergence at 0.9 θ̂ is overturned: the gradient there predicts a
    decrease far above the deviance's rounding."""
    fit = mfx.lmer("y ~ 1 + (1 | g)", near_exact)
    objective = fit.deviance_function()
    theta = 0.9 * fit.theta
    claimed = OptSummary("claim", theta, theta, objective(theta), 1, True, "ftol reached")
    checked = verify_stationary(objective, claimed, np.zeros(1), 1e-6)
    assert not checked.converged and "further decrease" in checked.message
    at_optimum = replace(claimed, final=fit.theta, fmin=objective(fit.theta))
    assert verify_stationary(objective, at_optimum, np.zeros(1), 1e-6).converged


@pytest.mark.parametrize("noise", [1e-10, 0.0])
def test_residual_variance_below_rounding_is_an_error(
    near_exact: pd.DataFrame, noise: float
) -> None:
    """y = g + 1e-10 · noise, or y constant within groups: no double-precision computation
    from cross-products resolves the residual variance (with exact groups the likelihood has
    no maximum).  It used to report convergence with an intercept of 3.58 for a balanced
    design whose every fit has the grand mean, 4.5; lme4 warns of a failed convergence."""
    rng = np.random.default_rng(5)
    data = near_exact.assign(y=near_exact["g"] + noise * rng.standard_normal(len(near_exact)))
    with pytest.raises(mfx.DataError, match="fixed and random effects fit the response exactly"):
        mfx.lmer("y ~ 1 + (1 | g)", data)


@pytest.fixture(scope="module")
def random_slope() -> pd.DataFrame:
    return pd.read_csv(DATA / "random_slope.csv")


# lme4 on random_slope.csv, y ~ x + (x | g), REML
R_THETA = np.array([3.257024925897084, 0.377978580943102, 1.834649446222712])
R_REML = 194.14462402061


@pytest.mark.parametrize("scale", [1.0, 1e-6, 1e6, 1e12])
def test_a_slope_fits_the_same_in_any_units(random_slope: pd.DataFrame, scale: float) -> None:
    """Multiplying x by c divides the slope's template row by c and leaves the fit otherwise
    unchanged.  lme4 stops with "Downdated VtV is not positive definite" at c = 1e12; the
    optimizer's steps in θ's units reached a worse optimum (1.5 above at c = 1e-6) or a false
    boundary (c = 1e12), where the summary then failed."""
    data = random_slope.assign(x=random_slope["x"] * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.PredictorScaleWarning)
        # lme4's singular test reads θ in the covariate's units: θ₂₂ = 1.8e-6 at c = 1e6
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer("y ~ x + (x | g)", data)
    np.testing.assert_allclose(fit.theta * [1, scale, scale], R_THETA, rtol=1e-4)
    # the REML criterion holds log|XᵀV⁻¹X|, which moves by 2 log c with the slope's column
    assert fit.objective == pytest.approx(R_REML + 2 * np.log(scale), abs=1e-5)
    table = fit.coef_table()  # Satterthwaite's derivatives at θ̂
    assert np.all(np.isfinite(table["df"]))


def test_a_variance_at_zero_is_exactly_zero() -> None:
    """Dyestuff2 (lme4: θ = 0): L-BFGS-B in scaled units stops a hair above the bound, and the
    entry is moved onto it, where the deviance is no higher."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff2"))
    assert fit.theta[0] == 0.0 and fit.optinfo.converged


class Quadratic:
    """f(x) = ½ xᵀHx + gᵀx with its exact gradient: a stand-in objective for the check."""

    blas_threads = None

    def __init__(self, H: np.ndarray, g: np.ndarray):
        self.H, self.g = H, g

    def __call__(self, x: np.ndarray, /) -> float:
        return float(0.5 * x @ self.H @ x + self.g @ x)

    def value_and_gradient(self, x: np.ndarray, /) -> tuple[float, np.ndarray]:
        return self(x), self.H @ x + self.g

    def flat_bounds(self, x: np.ndarray, /) -> np.ndarray:
        return np.zeros(x.size, dtype=bool)

    def scale(self, x: np.ndarray, /) -> np.ndarray:
        return np.ones(x.size)


@pytest.mark.parametrize(
    ("H", "g", "converged"),
    [
        ([[1.0, 1.0], [1.0, 1.0]], [0.0, 0.0], True),  # a flat valley along (1, −1): optimal
        ([[1.0, 1.0], [1.0, 1.0]], [1e-3, -1e-3], False),  # the valley slopes
        ([[1.0, 0.0], [0.0, -1e-3]], [0.0, 0.0], False),  # a saddle
        ([[2.0, 0.5], [0.5, 1.0]], [0.0, 0.0], True),  # a strict minimum
    ],
)
def test_a_flat_valley_is_an_optimum_and_a_saddle_is_not(H, g, converged) -> None:
    """The verification of an optimizer's result: no curvature and no slope along a
    direction is a (non-identifiable) optimum, as lme4's "nearly unidentifiable" fits are;
    negative curvature, or a slope along a flat direction, is not."""
    objective = Quadratic(np.array(H), np.array(g))
    x = np.zeros(2)
    opt = OptSummary("test", x, x, objective(x), 1, False, "stopped")
    checked = verify_stationary(objective, opt, np.full(2, -np.inf), 1e-9)
    assert checked.converged is converged
