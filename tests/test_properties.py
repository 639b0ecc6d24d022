"""Invariances of the fit, over random designs (hypothesis): crossed, nested and random-slope
models, ML and REML, with and without missing values.  `test_invariance` checks the same
on the reference data sets; here the designs vary.

Tolerances follow from the optimizer's precision.  Its stopping rule leaves the criterion
within about 1e-9 of its minimum, so two fits of one model agree on it to `OBJECTIVE` =
1e-8 relative.  Where the two fits solve the same problem (rows permuted, labels or
columns renamed, y rescaled) they take the same path up to rounding: estimates agree to
`ESTIMATE` = 1e-5 relative (θ to 1e-5 absolute, standard deviations to 1e-5 σ).  Where the
problem is reparameterized (a shifted covariate), the estimates are only as close as the
criterion allows: a point within ε of the minimum of a quadratic deviance lies within √ε
standard errors of it, so two such points lie within 2√ε standard errors of each other.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import mixedfx as mfx

OBJECTIVE = 1e-8
ESTIMATE = 1e-5

# Each design with its terms written in another order (the same model).
DESIGNS = {
    "y ~ x + f + (1 | a) + (1 | b)": "y ~ f + x + (1 | b) + (1 | a)",
    "y ~ x + (1 | a/b)": "y ~ x + (1 | b:a) + (1 | a)",
    "y ~ x + (1 + x | a)": "y ~ x + (x | a)",
    "y ~ x + f + (x | a) + (1 | b)": "y ~ f + x + (1 | b) + (1 + x | a)",
}
# A seed is an opaque example, which shrinking could only shorten into another: skip it.
PROPERTY = settings(
    max_examples=25, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate]
)


def random_data(seed: int, missing: bool) -> pd.DataFrame:
    """60–160 rows; a (5–10 levels) crossed with b (3–6 levels), a numeric x and a
    three-level factor f; with `missing`, three missing values in each of y, x and a."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 160))
    na, nb = int(rng.integers(5, 11)), int(rng.integers(3, 7))
    a, b = rng.integers(0, na, n), rng.integers(0, nb, n)
    x = rng.normal(size=n)
    f = rng.choice(["lo", "mid", "hi"], n)
    u = rng.normal(size=(na, 2)) * [1.0, 0.6]
    y = 1 + 0.5 * x + (f == "hi") + u[a, 0] + u[a, 1] * x + 0.7 * rng.normal(size=nb)[b]
    data = pd.DataFrame(
        {"y": y + rng.normal(size=n), "x": x, "f": f, "a": [f"a{v}" for v in a], "b": b}
    )
    if missing:
        for column in ("y", "x", "a"):
            data.loc[rng.choice(n, 3, replace=False), column] = None
    return data


def fit(formula: str, data: pd.DataFrame, reml: bool) -> mfx.LinearMixedModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        return mfx.lmer(formula, data, reml=reml)


def sds(fit: mfx.LinearMixedModel) -> pd.Series:
    """Standard deviations and correlations keyed by (group, var1, var2)."""
    table = fit.varcorr.fillna({"var1": "", "var2": ""})
    return table.set_index(["group", "var1", "var2"])["sdcor"].sort_index()


def assert_close(actual: object, expected: object, rtol: float, atol: object = 0.0) -> None:
    """|actual − expected| ≤ rtol |expected| + atol elementwise; atol may be an array."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    excess = np.abs(actual - expected) - (rtol * np.abs(expected) + np.asarray(atol))
    assert np.all(excess <= 0), f"{actual} != {expected} (excess {excess})"


def assert_same_fit(a: mfx.LinearMixedModel, b: mfx.LinearMixedModel) -> None:
    """Two fits of one problem: criterion, β (by name), σ, SDs and correlations, θ."""
    assert a.objective == pytest.approx(b.objective, rel=OBJECTIVE)
    beta_a, beta_b = a.fixef, b.fixef.loc[a.fixef.index]
    se = np.sqrt(np.diag(a.vcov))
    assert_close(beta_a, beta_b, rtol=ESTIMATE, atol=ESTIMATE * se)
    assert a.sigma == pytest.approx(b.sigma, rel=ESTIMATE)
    np.testing.assert_allclose(sds(a), sds(b).loc[sds(a).index], rtol=ESTIMATE, atol=ESTIMATE)


design = st.sampled_from(sorted(DESIGNS))
seeds = st.integers(0, 2**32 - 1)


@PROPERTY
@given(seed=seeds, formula=design, reml=st.booleans(), missing=st.booleans())
def test_row_order_does_not_matter(seed: int, formula: str, reml: bool, missing: bool) -> None:
    data = random_data(seed, missing)
    shuffled = data.sample(frac=1.0, random_state=np.random.default_rng(seed))
    one, other = fit(formula, data, reml), fit(formula, shuffled, reml)
    assert_same_fit(one, other)
    np.testing.assert_allclose(one.theta, other.theta, rtol=0, atol=ESTIMATE)
    complete = data.dropna()
    np.testing.assert_allclose(
        one.predict(complete), other.predict(complete), rtol=0, atol=ESTIMATE * one.sigma
    )


@PROPERTY
@given(seed=seeds, formula=design, reml=st.booleans(), missing=st.booleans())
def test_level_labels_do_not_matter(seed: int, formula: str, reml: bool, missing: bool) -> None:
    """Grouping levels renamed in another sort order (a to integers, b to strings): the same
    fit, each level keeping its random effects.  The fixed factor renamed so that another
    level is the reference: other coefficients, the same criterion and fitted values."""
    data = random_data(seed, missing)
    rng = np.random.default_rng(seed)
    a_labels = data["a"].dropna().unique()
    a_map = dict(zip(a_labels, rng.permutation(len(a_labels)).tolist()))
    b_map = {v: f"level {9 - v}" for v in data["b"].unique()}
    renamed = data.assign(a=data["a"].map(a_map), b=data["b"].map(b_map))
    one, other = fit(formula, data, reml), fit(formula, renamed, reml)
    assert_same_fit(one, other)
    np.testing.assert_allclose(one.theta, other.theta, rtol=0, atol=ESTIMATE)
    modes, relabelled = one.ranef["a"], other.ranef["a"]
    np.testing.assert_allclose(
        modes.to_numpy(),
        relabelled.loc[[str(a_map[v]) for v in modes.index]].to_numpy(),  # labels as R's: strings
        rtol=ESTIMATE,
        atol=ESTIMATE * one.sigma,
    )
    if "f" in formula:
        refactored = fit(
            formula, data.assign(f=data["f"].map({"lo": "z", "mid": "m", "hi": "a"})), reml
        )
        assert refactored.objective == pytest.approx(one.objective, rel=OBJECTIVE)
        np.testing.assert_allclose(refactored.fitted, one.fitted, atol=ESTIMATE * one.sigma)


@PROPERTY
@given(seed=seeds, formula=design, reml=st.booleans(), missing=st.booleans())
def test_column_and_term_order_do_not_matter(
    seed: int, formula: str, reml: bool, missing: bool
) -> None:
    data = random_data(seed, missing)
    one = fit(formula, data, reml)
    columns = list(np.random.default_rng(seed).permutation(data.columns))
    assert_same_fit(one, fit(formula, data[columns], reml))
    assert_same_fit(one, fit(DESIGNS[formula], data, reml))


@PROPERTY
@given(
    seed=seeds,
    formula=design,
    reml=st.booleans(),
    missing=st.booleans(),
    log10_c=st.floats(-3, 3),
)
def test_scaling_y_scales_the_estimates(
    seed: int, formula: str, reml: bool, missing: bool, log10_c: float
) -> None:
    """y → c·y: β, σ and the SDs scale by c, correlations and θ stay, and the
    log-likelihood moves by −ν log c (ν = n, or n − p for REML's)."""
    c = 10.0**log10_c
    data = random_data(seed, missing)
    one, scaled = fit(formula, data, reml), fit(formula, data.assign(y=c * data["y"]), reml)
    nu = one.nobs - one.design.p if reml else one.nobs
    assert scaled.loglik == pytest.approx(one.loglik - nu * np.log(c), rel=OBJECTIVE)
    se = np.sqrt(np.diag(one.vcov))
    assert_close(scaled.fixef / c, one.fixef, rtol=ESTIMATE, atol=ESTIMATE * se)
    assert scaled.sigma / c == pytest.approx(one.sigma, rel=ESTIMATE)
    is_sd = one.varcorr["var2"].isna().to_numpy()
    ratio = np.where(is_sd, c, 1.0)
    assert_close(
        scaled.varcorr["sdcor"] / ratio,
        one.varcorr["sdcor"],
        rtol=ESTIMATE,
        atol=ESTIMATE * np.where(is_sd, one.sigma, 1.0),
    )
    np.testing.assert_allclose(scaled.theta, one.theta, rtol=0, atol=ESTIMATE)


@PROPERTY
@given(
    seed=seeds, formula=design, reml=st.booleans(), missing=st.booleans(), shift=st.floats(-20, 20)
)
def test_shifting_a_covariate_changes_only_the_intercept(
    seed: int, formula: str, reml: bool, missing: bool, shift: float
) -> None:
    """x → x + s reparameterizes the model: the same likelihood, slope and σ; the intercept
    becomes β₀ − s β_x; a random slope's variance stays.  All within 2√ε standard errors
    (ε = `OBJECTIVE` × the criterion), σ's standard error taken as σ/√(2ν)."""
    data = random_data(seed, missing)
    one = fit(formula, data, reml)
    shifted = fit(formula, data.assign(x=data["x"] + shift), reml)
    assert shifted.objective == pytest.approx(one.objective, rel=OBJECTIVE)
    bound = 2 * np.sqrt(OBJECTIVE * abs(one.objective))
    beta = one.fixef.copy()
    beta["(Intercept)"] -= shift * beta["x"]
    se = np.sqrt(np.diag(shifted.vcov))
    assert_close(shifted.fixef, beta, rtol=0, atol=bound * se)
    nu = one.nobs - one.design.p if reml else one.nobs
    assert abs(shifted.sigma - one.sigma) <= bound * one.sigma / np.sqrt(2 * nu)


@PROPERTY
@given(seed=seeds, formula=design, reml=st.booleans())
def test_missing_rows_are_the_rows_left_out(seed: int, formula: str, reml: bool) -> None:
    data = random_data(seed, missing=True)
    one = fit(formula, data, reml)
    assert one.nobs == len(data.dropna())
    assert_same_fit(one, fit(formula, data.dropna(), reml))


def balanced_one_way(Y: np.ndarray, groups: np.ndarray, reml: bool) -> np.ndarray:
    """Estimates (β, σ_b, σ) of y ~ 1 + (1 | g) in a balanced layout, in closed form, for each
    column of Y (n × nsim); shape (nsim, 3).  With SSB and SSW the between- and within-group
    sums of squares: β = ȳ, σ² = SSW/(n − ℓ) and σ² + mσ_b² = SSB/(ℓ − 1) (REML) or SSB/ℓ
    (ML); when that leaves σ_b² ≤ 0, σ_b = 0 and σ² = SST/(n − 1) (REML) or SST/n (ML)."""
    labels, refs = np.unique(groups, return_inverse=True)
    n, ell = len(groups), len(labels)
    m = n // ell
    Y = Y.reshape(n, -1)
    grand = Y.mean(axis=0)
    means = np.stack([Y[refs == g].mean(axis=0) for g in range(ell)])
    ssb = m * ((means - grand) ** 2).sum(axis=0)
    sst = ((Y - grand) ** 2).sum(axis=0)
    msw = (sst - ssb) / (n - ell)
    between = ssb / (ell - 1 if reml else ell)
    inside = between > msw
    sd = np.sqrt(np.where(inside, (between - msw) / m, 0.0))
    sigma = np.sqrt(np.where(inside, msw, sst / (n - 1 if reml else n)))
    return np.column_stack([grand, sd, sigma])


@PROPERTY
@given(
    seed=seeds,
    ell=st.integers(3, 12),
    m=st.integers(2, 8),
    log10_ratio=st.floats(-1.5, 1),
    reml=st.booleans(),
)
def test_balanced_one_way_fit_is_the_closed_form(
    seed: int, ell: int, m: int, log10_ratio: float, reml: bool
) -> None:
    """The criterion at our θ̂ is the closed form's minimum (within `OBJECTIVE`; never below
    it beyond rounding), β̂ = ȳ whatever θ, and σ̂, σ̂_b agree to 1e-4 (σ̂_b absolutely,
    in units of σ̂): a deviance flat to 1e-8 leaves θ that uncertain (measured: 6e-5)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(ell), m)
    y = 5 + 10**log10_ratio * rng.normal(size=ell)[g] + rng.normal(size=g.size)
    one = fit("y ~ 1 + (1 | g)", pd.DataFrame({"y": y, "g": g}), reml)
    beta, sd_b, sigma = balanced_one_way(y, g, reml)[0]
    minimum = one.deviance_function()(np.array([sd_b / sigma]))
    assert -1e-12 * abs(minimum) <= one.objective - minimum <= OBJECTIVE * abs(minimum)
    assert one.fixef.iloc[0] == pytest.approx(beta, rel=1e-12)
    assert one.sigma == pytest.approx(sigma, rel=1e-4)
    assert one.varcorr["sdcor"].iloc[0] == pytest.approx(sd_b, rel=1e-4, abs=1e-4 * sigma)


def test_an_uncentred_random_slope_reaches_the_minimum() -> None:
    """Found by the shift property with shifts up to ±20: x − 15.64 in a random-slope model.
    The shifted model has the unshifted one's likelihood (BOBYQA run to 1e-14 agrees to 4e-12)."""
    data = random_data(1314950, missing=False)
    one = fit("y ~ x + (1 + x | a)", data, reml=True)
    shifted = fit("y ~ x + (1 + x | a)", data.assign(x=data["x"] - 15.642768770709914), True)
    assert shifted.objective == pytest.approx(one.objective, rel=OBJECTIVE)
