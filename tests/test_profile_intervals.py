"""Profile intervals against lme4 and against a brute-force profile.

The brute force is the textbook marginal likelihood of y ~ X β + (z₁ + … + z_k | g) with
equal group sizes: per group V_g = Z_g G Z_gᵀ + σ² I as a dense matrix, β by generalized
least squares, and the other variance parameters (SDs, correlations, σ, on lme4's scale with
their natural bounds) minimized by SciPy's L-BFGS-B from several starts.  It shares nothing
with mixedfx's θ-space computation but the data.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import mixedfx as mfx
from mixedfx.inference import profile as profile_module
from mixedfx.inference.restricted import reordered_cross_products, reordered_theta
from mixedfx.pls.criterion import ML, criterion_of
from mixedfx.pls.deviance import ProfiledDeviance

DATA = Path(__file__).parent / "data" / "profile"
Z = float(stats.norm.ppf(0.975))
ZETA_TOL = 1e-3
# The optimizers' precision in the deviance, far below the 4e-3 that moves ζ = z by ZETA_TOL.
DEVIANCE_TOL = 1e-5
FORMULA = "y ~ age + sex + (age | g)"
# lme4's run per data set (see lme4_intervals.R): on sim3 the default grid leaves a spline
# error of 3% of the width at the correlation's upper end (-0.92508, where the brute force
# gives ζ = 1.984), on sim6 the finer grid jumps to another valley at sd(age)'s lower end
# (0.0589, ζ = 1.855); elsewhere the two runs differ by at most 1.2e-3 of the width.
LME4_RUN = {"sim3": "fine", "sim6": "default"}
# The brute force's value outside its domain (correlations that are not a correlation matrix,
# V singular in floating point): finite, so that L-BFGS-B's difference quotients stay finite.
OUTSIDE = 1e10


@dataclass(frozen=True)
class BruteForce:
    """The ML deviance of y ~ X β + (z₁ + … + z_k | g) from dense per-group covariances.

    ψ is lme4's variance scale in `VarianceScale` order: the k SDs, the correlations of the
    pairs (a, b), a > b, by b then a, and σ.

    Attributes
    ----------
    y
        Shape (ℓ, m): the response by group.
    X, Zg
        Shapes (ℓ, m, p) and (ℓ, m, k): fixed-effect and random-effect columns by group.
    """

    y: np.ndarray
    X: np.ndarray
    Zg: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, X: np.ndarray, Z: np.ndarray, g: np.ndarray) -> BruteForce:
        order = np.argsort(g, kind="stable")
        ell = np.unique(g).size
        return cls(
            y[order].reshape(ell, -1),
            X[order].reshape(ell, -1, X.shape[1]),
            Z[order].reshape(ell, -1, Z.shape[1]),
        )

    @property
    def k(self) -> int:
        return self.Zg.shape[2]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return [(a, b) for b in range(self.k) for a in range(b + 1, self.k)]

    def deviance(self, psi: np.ndarray, fixed: tuple[int, float] | None = None) -> float:
        """−2 log L at ψ, minimized over β (β_j held at a value when `fixed` = (j, value));
        inf where the correlations are not a correlation matrix."""
        k = self.k
        C = np.eye(k)
        for (a, b), rho in zip(self.pairs, psi[k:-1]):
            C[a, b] = C[b, a] = rho
        if k > 2 and np.linalg.eigvalsh(C)[0] < -1e-12:
            return np.inf
        G = np.outer(psi[:k], psi[:k]) * C
        X, y = self.X, self.y
        if fixed is not None:
            j, value = fixed
            y = y - X[:, :, j] * value
            X = np.delete(X, j, axis=2)
        V = self.Zg @ G @ self.Zg.transpose(0, 2, 1) + psi[-1] ** 2 * np.eye(y.shape[1])
        sign, logdet = np.linalg.slogdet(V)
        if np.any(sign <= 0):  # σ near 0 with |ρ| = 1: V singular in floating point
            return np.inf
        W = np.linalg.inv(V)
        WX = W @ X
        XtWX = np.einsum("gia,gib->ab", X, WX)
        XtWy = np.einsum("gia,gi->a", WX, y)
        rss = float(np.einsum("gi,gij,gj->", y, W, y) - XtWy @ np.linalg.solve(XtWX, XtWy))
        return y.size * np.log(2 * np.pi) + float(logdet.sum()) + rss

    def minimum(self, starts: list[np.ndarray], held: tuple[str, int, float] | None) -> float:
        """The deviance minimized over every parameter but the `held` one, from each start.

        `held` is ("psi", i, value) for ψ_i or ("beta", j, value) for β_j (None: nothing).
        The free SDs are searched as variances: the deviance is even in an SD, so its
        derivative at 0 vanishes whether 0 is a minimum or not, and a search would stop there.
        """
        k, size = self.k, self.k + len(self.pairs) + 1
        free = [i for i in range(size) if held is None or held[:2] != ("psi", i)]
        variances = np.array([i < k for i in free])
        everyone = [(0.0, None)] * k + [(-1.0, 1.0)] * len(self.pairs) + [(1e-6, None)]
        bounds = [everyone[i] for i in free]
        fixed = (held[1], held[2]) if held is not None and held[0] == "beta" else None

        def f(x: np.ndarray) -> float:
            if not np.all(np.isfinite(x)):
                return OUTSIDE
            psi = np.empty(size)
            psi[free] = np.where(variances, np.sqrt(np.abs(x)), x)
            if held is not None and held[0] == "psi":
                psi[held[1]] = held[2]
            value = self.deviance(psi, fixed)
            return value if np.isfinite(value) else OUTSIDE

        lo = np.array([b[0] for b in bounds])
        hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
        correlations = np.array([k <= i < size - 1 for i in free])
        best = np.inf
        for start in starts:
            x0 = np.clip(np.where(variances, start[free] ** 2, start[free]), lo, hi)
            for _ in range(100):  # the free correlations shrunk until they fit the held one
                if f(x0) < OUTSIDE:
                    break
                x0 = np.where(correlations, 0.8 * x0, x0)
            result = optimize.minimize(
                f,
                x0,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": 1e-12, "gtol": 1e-7, "maxiter": 1000},
            )
            best = min(best, float(result.fun))
        return best


def check_ends_against_brute_force(
    fit: mfx.LinearMixedModel, brute: BruteForce, fixed_effects: bool = True
) -> None:
    """At each interval end: mixedfx's deviance there is the brute force's at the same
    parameters; the brute force, started there, at the ML estimate and off it, finds no
    lower deviance; and its ζ is ±z, or within ±z at an end on a bound (an SD of 0, a
    correlation of ±1).  The variance parameters' ends, and with `fixed_effects` the fixed
    effects' too."""
    with warnings.catch_warnings():
        # profiling may find that the ML fit is not the maximum, and then says so and
        # profiles the better one: the brute force's minimum is the reference here
        warnings.filterwarnings("ignore", "the ML fit is not at the maximum", mfx.ProfileWarning)
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        profiler, ends = profile_module.profile_all(fit, Z, lambda message: None)
    assert not any(problems for _, _, problems in ends.values())
    ml = profiler.fit
    psi_hat = psi_of(ml.theta, ml)
    k = brute.k
    # off the estimate: larger SDs, the correlations all equal (a correlation matrix)
    away = [
        np.concatenate([1.2 * psi_hat[:k] + 0.1, np.full(len(brute.pairs), r), psi_hat[-1:]])
        for r in (-0.9 / (k - 1), 0.9)
    ]
    base = min(brute.minimum([psi_hat, *away], None), ml.deviance)
    n_psi = psi_hat.size
    for index, parameter in enumerate(profiler.parameters):
        kind, i = ("psi", index) if index < n_psi else ("beta", index - n_psi)
        if kind == "beta" and not fixed_effects:
            continue
        for value in ends[parameter.name][:2]:
            point = profiler.traces[parameter.name].points[value]
            pair = (index, value) if k <= index < n_psi - 1 else None
            psi = psi_of(parameter.original_theta(point.theta), ml, point.sigma, pair)
            fixed = (i, value) if kind == "beta" else None
            assert brute.deviance(psi, fixed) == pytest.approx(point.deviance, abs=1e-8)
            minimum = brute.minimum([psi, psi_hat, *away], (kind, i, value))
            assert minimum >= point.deviance - DEVIANCE_TOL, (parameter.name, value)
            zeta = np.sqrt(max(minimum - base, 0.0))
            on_bound = value in (parameter.lower, parameter.upper)
            assert zeta <= Z + ZETA_TOL if on_bound else zeta == pytest.approx(Z, abs=ZETA_TOL)


def psi_of(
    theta: np.ndarray,
    ml: mfx.LinearMixedModel,
    sigma: float | None = None,
    held: tuple[int, float] | None = None,
) -> np.ndarray:
    """ψ (`BruteForce`) of a one-term model at θ and σ (the fit's σ by default).

    A correlation with a coefficient whose SD is 0 is undefined; it is 0, except that with
    correlation `held` = (index in ψ, ρ) of coefficients c and a and the SD of c 0, c is
    taken as ρ a plus an independent part: its correlation with b is ρ ρ_ab.  So ψ is a
    correlation matrix holding that correlation, at the same deviance.
    """
    sigma = ml.sigma if sigma is None else sigma
    cov = ml.layout.covariances(theta, sigma)[0]
    sd = np.sqrt(np.diag(cov))
    k = sd.size
    pairs = [(a, b) for b in range(k) for a in range(b + 1, k)]
    with np.errstate(invalid="ignore", divide="ignore"):
        R = cov / np.outer(sd, sd)
    if held is not None:
        c, a = pairs[held[0] - k]
        if sd[c] > 0:
            c, a = a, c
        if sd[c] == 0:
            R[c] = R[:, c] = held[1] * np.nan_to_num(R[a])
            R[c, a] = R[a, c] = held[1]
    R = np.nan_to_num(R)
    return np.array([*sd, *(R[a, b] for a, b in pairs), sigma])


def repro_fit(name: str) -> tuple[mfx.LinearMixedModel, BruteForce]:
    data = pd.read_csv(DATA / f"{name}.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(FORMULA, data)
    X = np.column_stack([np.ones(len(data)), data["age"], data["sex"] == "M"]).astype(float)
    return fit, BruteForce.of(data["y"].to_numpy(), X, X[:, :2], data["g"].to_numpy())


@pytest.mark.parametrize("name", ["sim3", "sim6"])
def test_correlated_slope_intervals_match_lme4(name: str) -> None:
    """Where the old profile gave zero-width intervals (sim3's sd((Intercept)|g) was
    [2.972, 2.972], lme4's [0.854, 4.847]): within 2e-3 of each interval's width."""
    fit, _ = repro_fit(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        warnings.simplefilter("error", mfx.ProfileWarning)
        intervals = fit.confint("profile")
    ref = json.loads((DATA / "lme4_intervals.json").read_text())[name][LME4_RUN[name]]
    ours = [_from_lme4(n) for n in ref["names"]]
    lower, upper = np.array(ref["lower"]), np.array(ref["upper"])
    width = upper - lower
    assert np.all(intervals["upper"] - intervals["lower"] > 0)
    np.testing.assert_array_less(np.abs(intervals.loc[ours, "lower"] - lower), 2e-3 * width + 1e-12)
    np.testing.assert_array_less(np.abs(intervals.loc[ours, "upper"] - upper), 2e-3 * width + 1e-12)


def _from_lme4(name: str) -> str:
    return {
        "sd_(Intercept)|g": "sd((Intercept)|g)",
        "cor_age.(Intercept)|g": "cor(age,(Intercept)|g)",
        "sd_age|g": "sd(age|g)",
    }.get(name, name)


@pytest.mark.parametrize("name", ["sim3", "sim6"])
def test_correlated_slope_interval_ends_against_brute_force(name: str) -> None:
    fit, brute = repro_fit(name)
    check_ends_against_brute_force(fit, brute)


@st.composite
def correlated_slope_designs(draw: st.DrawFn) -> pd.DataFrame:
    """y = 1 + x/2 + b₀ + b₁ x + e over ℓ groups of m rows: x uncentred or centred, the
    random effects' correlation often ±0.99 (fits on or near the boundary)."""
    ell = draw(st.integers(6, 14))
    m = draw(st.integers(3, 6))
    sd = np.array([draw(st.floats(0.0, 3.0)), draw(st.floats(0.0, 0.8))])
    cor = draw(st.sampled_from([-0.99, 0.99]) | st.floats(-1.0, 1.0))
    sigma = draw(st.floats(0.5, 2.0))
    uncentred = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = np.repeat(np.arange(ell), m)
    x = rng.uniform(0, 10, g.size) if uncentred else rng.normal(0, 1, g.size)
    G = np.outer(sd, sd) * np.array([[1.0, cor], [cor, 1.0]])
    b = rng.multivariate_normal([0.0, 0.0], G, ell, method="eigh")
    y = 1 + 0.5 * x + b[g, 0] + b[g, 1] * x + rng.normal(0, sigma, g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(correlated_slope_designs())
def test_profile_ends_are_where_the_brute_force_zeta_is_z(data: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer("y ~ x + (x | g)", data, reml=False)
    X = np.column_stack([np.ones(len(data)), data["x"]])
    brute = BruteForce.of(data["y"].to_numpy(), X, X, data["g"].to_numpy())
    check_ends_against_brute_force(fit, brute, fixed_effects=False)


def test_three_correlated_coefficients_against_brute_force() -> None:
    """(1 + x + z | g): each SD and each of the three correlations is profiled in its own
    reordered term, with the others' correlations free.  (On data of this kind, with a
    crossed intercept added, lme4 1.1-31 stops short at three ends, with 50 warnings, where a
    dense brute force agrees with mixedfx.)"""
    rng = np.random.default_rng(3)
    ell, m = 15, 6
    g = np.repeat(np.arange(ell), m)
    x, z = rng.normal(size=(2, g.size))
    C = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    b = rng.multivariate_normal(np.zeros(3), C * np.outer([1.5, 0.6, 0.4], [1.5, 0.6, 0.4]), ell)
    y = 2 + x - z / 2 + b[g, 0] + b[g, 1] * x + b[g, 2] * z + rng.normal(size=g.size)
    data = pd.DataFrame({"y": y, "x": x, "z": z, "g": g})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)  # ρ(x, z) = 0.997
        fit = mfx.lmer("y ~ x + z + (x + z | g)", data, reml=False)
    X = np.column_stack([np.ones(g.size), x, z])
    check_ends_against_brute_force(fit, BruteForce.of(y, X, X, g), fixed_effects=False)


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("reml", [False, True])
def test_criterion_at_sigma_and_its_gradients(dense: bool, reml: bool) -> None:
    """d(θ, σ) = logdet + r²/σ² + ν log(2πσ²); its gradients against central differences,
    and its minimum over σ (at σ² = r²/ν) is the profiled criterion."""
    fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
    objective = ProfiledDeviance(fit.A, criterion_of(reml), dense=dense)
    theta, sigma = fit.theta * np.array([1.1, 0.7, 1.3]), 27.0
    value, gradient, d_sigma = objective.value_and_gradients_at(theta, sigma)
    factor = objective.factor(theta)
    criterion = criterion_of(reml)
    logdet, nu = criterion.logdet(factor), criterion.dof(factor.n, factor.p)
    assert value == pytest.approx(
        logdet + factor.pwrss / sigma**2 + nu * np.log(2 * np.pi * sigma**2), rel=1e-13
    )
    h = 1e-6

    def f(t: np.ndarray, s: float) -> float:
        return objective.value_and_gradients_at(t, s)[0]

    numeric = [(f(theta + h * e, sigma) - f(theta - h * e, sigma)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5)
    assert d_sigma == pytest.approx((f(theta, sigma + h) - f(theta, sigma - h)) / (2 * h), rel=1e-5)
    sigma_hat = np.sqrt(factor.pwrss / nu)
    assert f(theta, sigma_hat) == pytest.approx(objective(theta), rel=1e-13)
    assert objective.value_and_gradients_at(theta, sigma_hat)[2] == pytest.approx(0.0, abs=1e-9)


def reorder_cases() -> list[tuple[mfx.LinearMixedModel, int, list[np.ndarray]]]:
    """Fits with a term of two coefficients: the first term (sleepstudy) or a later one (a
    random slope by sample on Penicillin), each at θ̂ and at a θ with |ρ| = 1."""
    sleep = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
    frame = mfx.datasets.load("Penicillin")
    frame = frame.assign(x=np.random.default_rng(0).normal(size=len(frame)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        penicillin = mfx.lmer("diameter ~ 1 + (1 | plate) + (1 + x | sample)", frame)
    return [
        (sleep, 0, [sleep.theta, sleep.theta * np.array([1.0, 1.0, 0.0])]),
        (penicillin, 1, [penicillin.theta, np.array([1.2, 0.8, -0.4, 0.0])]),
    ]


@pytest.mark.parametrize("dense", [True, False])
def test_reordering_a_terms_coefficients_leaves_the_deviance_unchanged(dense: bool) -> None:
    """The model with a term's two coefficients swapped, at the swapped θ (from a QR
    factorization, valid on the boundary too), has the same deviance."""
    for fit, term, thetas in reorder_cases():
        order = np.array([1, 0])
        A = reordered_cross_products(fit.A, term, order)
        original = fit.deviance_function(criterion=ML())
        reordered = ProfiledDeviance(A, ML(), dense=dense)
        for theta in thetas:
            swapped = reordered_theta(theta, fit.layout, term, order)
            assert not np.allclose(swapped, theta)
            assert reordered(swapped) == pytest.approx(original(theta), rel=1e-12)


def test_an_end_not_found_is_nan_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile whose ζ turns back before reaching z on one side: that end is NaN and a
    ProfileWarning names the parameter; the other ends are unaffected."""
    fit = mfx.lmer("Reaction ~ Days + (1 | Subject)", mfx.datasets.load("sleepstudy"), reml=False)
    expected = fit.confint("profile")
    deviance = profile_module.Trace.deviance

    def bent(self: profile_module.Trace, value: float) -> float:
        d = deviance(self, value)
        if self.parameter.name != "sigma" or value <= self.parameter.estimate:
            return d
        # beyond half the way to the upper end, the deviance falls again
        turn = self.parameter.estimate + 0.5 * (
            expected.at["sigma", "upper"] - self.parameter.estimate
        )
        return d if value < turn else d - 4 * (value - turn) ** 2 * 1e3

    monkeypatch.setattr(profile_module.Trace, "deviance", bent)
    with pytest.warns(mfx.ProfileWarning, match=r"profile of sigma: upper end"):
        intervals = fit.confint("profile")
    assert np.isnan(intervals.at["sigma", "upper"])
    assert intervals.at["sigma", "lower"] == pytest.approx(expected.at["sigma", "lower"], rel=1e-8)
    finite = intervals.drop(index="sigma")
    pd.testing.assert_frame_equal(finite, expected.drop(index="sigma"), rtol=1e-8)
