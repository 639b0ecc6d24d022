"""t and F tests, Kenward–Roger, intervals and the bootstrap against lmerTest/pbkrtest/lme4.

Tolerances as the reference checker's: df 1% relative, p-values 2% relative, Wald intervals
1e-3 and profile intervals 2e-2 of their width.  The t tests (Satterthwaite, Kenward–Roger)
are deterministic and are compared much more tightly, with R's values at a tight optimum.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedfx as mfx
from mixedfx.inference.profile import VarianceScale

from conftest import DATA, case, case_frame, lmer_cases


def fit_case(name: str) -> tuple[dict, mfx.LinearMixedModel]:
    ref = case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        return ref, mfx.lmer(ref["formula"], case_frame(ref), reml=ref["reml"])


def norm(name: str) -> str:
    return ":".join(sorted(name.split(":")))


SMALL = [c for c in lmer_cases() if c not in ("exam_reml",)]


TIGHT = json.loads((DATA / "ddf_tight.json").read_text())


def _t_test_table(name: str, method: str) -> tuple[dict, mfx.LinearMixedModel, pd.DataFrame]:
    """R's t tests of case `name` at its tight optimum, our fit, and our t tests in R's order."""
    ref = TIGHT[name]
    _, fit = fit_case(name)
    table = fit.coef_table(method).rename(index=norm).loc[[norm(n) for n in ref["names"]]]
    return ref, fit, table


def _assert_p_values_follow(table: pd.DataFrame) -> None:
    """p = 2 P(T_ν > |t|), as R's pt, to rounding: p's own comparison with R's must be
    looser, as its relative error is up to ~40 times that of t and ν at these large |t|."""
    expected = 2 * stats.t.sf(np.abs(table["statistic"]), table["df"])
    np.testing.assert_allclose(table["p_value"], expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(TIGHT))
def test_satterthwaite_matches_lmertest(name: str) -> None:
    """lmerTest's df, t and p at a tightly converged optimum (tests/data/r/ddf_tight.R).

    The df depend on θ̂ through numerical derivatives of vcov(β̂) and of the deviance's
    Hessian: at lme4's default stopping rules they move by up to 1e-4, at the tight optimum
    they are fixed to ~1e-7 (numDeriv's precision).  Ours, at our default stopping rule, are
    within 6e-6 of them (the precision of our θ̂), t within 2.2e-6, p within 1.6e-4.
    """
    ref, _, table = _t_test_table(name, "satterthwaite")
    r = ref["satterthwaite"]
    np.testing.assert_allclose(table["df"], r["df"], rtol=1e-5)
    np.testing.assert_allclose(table["statistic"], r["t"], rtol=5e-6)
    np.testing.assert_allclose(table["p_value"], r["p"], rtol=3e-4)
    _assert_p_values_follow(table)


# exam_reml left out: its 4059 rows make Kenward–Roger's dense n × n work take seconds
@pytest.mark.parametrize("name", [c for c in SMALL if "kenward_roger" in TIGHT.get(c, {})])
def test_kenward_roger_matches_pbkrtest(name: str) -> None:
    """pbkrtest's df, standard errors, t and p at the tight optimum.  Its derivatives are
    analytic, so its df depend less on θ̂ than Satterthwaite's: ours are within 3e-7."""
    ref, fit, table = _t_test_table(name, "kenward-roger")
    kr = ref["kenward_roger"]
    np.testing.assert_allclose(table["df"], kr["df"], rtol=1e-6)
    np.testing.assert_allclose(table["std_error"], kr["se"], rtol=5e-6)
    np.testing.assert_allclose(table["statistic"], kr["t"], rtol=5e-6)
    np.testing.assert_allclose(table["p_value"], kr["p"], rtol=3e-5)
    _assert_p_values_follow(table)
    vcov_kr = fit.vcov_kr().rename(index=norm, columns=norm)
    names = [norm(n) for n in ref["names"]]
    np.testing.assert_allclose(np.sqrt(np.diag(vcov_kr.loc[names, names])), kr["se"], rtol=5e-6)


def test_kenward_roger_needs_reml() -> None:
    _, fit = fit_case("sleepstudy_slopes_ml")
    with pytest.raises(ValueError, match="REML"):
        fit.coef_table("kenward-roger")


@pytest.mark.parametrize(
    "name", [c for c in lmer_cases() if case(c)["anova_type3_satterthwaite"]["terms"]]
)
def test_type3_anova_matches_lmertest(name: str) -> None:
    ref, fit = fit_case(name)
    a = ref["anova_type3_satterthwaite"]
    table = fit.anova().rename(index=norm).loc[[norm(t) for t in a["terms"]]]
    np.testing.assert_allclose(table["f_value"], a["F"], rtol=1e-3)
    np.testing.assert_allclose(table["num_df"], a["numdf"])
    np.testing.assert_allclose(table["den_df"], a["dendf"], rtol=1e-2)
    np.testing.assert_allclose(table["p_value"], a["p"], rtol=2e-2)


def test_satterthwaite_df_is_exact_in_a_balanced_one_way_design() -> None:
    """Balanced one-way random intercepts (6 batches × 5): the intercept's df is ℓ − 1 = 5."""
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff"))
    assert fit.coef_table()["df"].iloc[0] == pytest.approx(5.0, rel=1e-4)  # θ̂ to ~1e-5


def test_type1_2_3_agree_without_interactions_and_contrast_equals_t_test() -> None:
    _, fit = fit_case("sleepstudy_slopes_reml")
    tables = [fit.anova(type=k) for k in (1, 2, 3)]
    for t in tables[1:]:
        np.testing.assert_allclose(t["f_value"], tables[0]["f_value"], rtol=1e-8)
    row = fit.coef_table().loc["Days"]
    test = fit.contrast(np.array([0.0, 1.0]))
    assert test.f_value == pytest.approx(row["statistic"] ** 2, rel=1e-10)
    assert test.den_df == pytest.approx(row["df"], rel=1e-10)
    assert test.p_value == pytest.approx(row["p_value"], rel=1e-8)


@pytest.mark.parametrize("name", lmer_cases())
def test_wald_and_profile_intervals_match_lme4(name: str) -> None:
    """Every case's intervals; profile ends within 2e-2 of the interval's width (lme4
    interpolates ζ with splines), except parameters whose profile R itself warned about."""
    ref, fit = fit_case(name)
    wald = fit.confint("wald").rename(index=norm)
    c = ref["confint_wald"]
    width = np.asarray(c["upper"]) - np.asarray(c["lower"])
    names = [norm(n) for n in c["names"]]
    for end in ("lower", "upper"):
        np.testing.assert_allclose(wald.loc[names, end], c[end], atol=1e-3 * width.min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)  # of the ML refit
        warnings.simplefilter("error", mfx.ProfileWarning)
        profile = fit.confint("profile")
    c = ref["confint_profile"]
    r_warned = [w for w in ref["warnings"] if w.startswith("confint_profile")]
    doubtful = {n for n in c["names"] if any(n in w for w in r_warned)}
    keep = [i for i, n in enumerate(c["names"]) if n not in doubtful]
    ours = [_our_name(c["names"][i], profile.index) for i in keep]
    lower, upper = (np.asarray(c[end])[keep] for end in ("lower", "upper"))
    width = upper - lower
    np.testing.assert_array_less(np.abs(profile.loc[ours, "lower"] - lower), 2e-2 * width + 1e-12)
    np.testing.assert_array_less(np.abs(profile.loc[ours, "upper"] - upper), 2e-2 * width + 1e-12)


def _our_name(r_name: str, ours: pd.Index) -> str:
    """lme4's 'sd_(Intercept)|Subject', 'cor_Days.(Intercept)|Subject', 'recipeB:temp185' →
    ours, whose group of a second term on the same factor is 'Subject.1'."""
    kind, _, rest = r_name.partition("_")
    if kind not in ("sd", "cor"):
        return next(n for n in ours if norm(n) == norm(r_name))
    inner, group = rest.rsplit("|", 1)
    candidates = [n for n in ours if n.startswith(f"{kind}(")]
    for name in candidates:
        coefs, _, their_group = name[len(kind) + 1 : -1].rpartition("|")
        same_group = _strip_term_number(their_group) == group
        if same_group and coefs.replace(",", ".") == inner:
            return name
    raise KeyError(r_name)


def _strip_term_number(group: str) -> str:
    head, dot, tail = group.rpartition(".")
    return head if dot and tail.isdigit() else group


def test_bootstrap_is_reproducible_whatever_n_jobs() -> None:
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff"))
    one = mfx.bootstrap(fit, 20, seed=7, n_jobs=1)
    two = mfx.bootstrap(fit, 20, seed=7, n_jobs=2)
    pd.testing.assert_frame_equal(one.estimates, two.estimates, check_exact=True)
    assert one.completed == two.completed == 20
    assert list(one.estimates.columns) == ["(Intercept)", "sd((Intercept)|Batch)", "sigma"]
    # each replicate its own stream: no two alike, and another seed gives other draws
    assert one.estimates["(Intercept)"].nunique() == 20
    other = mfx.bootstrap(fit, 20, seed=8)
    assert not np.any(np.isclose(other.estimates["(Intercept)"], one.estimates["(Intercept)"]))


def test_bootstrap_replicates_are_exact_refits_of_draws_from_the_model() -> None:
    """Dyestuff is a balanced one-way layout (ℓ = 6 batches of m = 5), where the REML
    estimates have a closed form in the batch sums Z'y* and y*'y*, and the intercept's is ȳ.
    So (1) every replicate is the closed-form fit to its simulated cross-products, drawn
    from the same streams (σ̂ to 1e-5 relative, the optimizer's precision; σ̂_b to 1e-4 σ̂,
    as its precision is absolute near 0), and (2) the intercepts are draws of
    ȳ* ~ N(β̂, V), V = (σ̂_b² + σ̂²/m)/ℓ, exactly (checked by Kolmogorov–Smirnov and by mean
    and variance within 3.5 standard errors).  A percentile interval then has the coverage
    of ȳ ± z √V̂, which (1) and (2) fix; a Monte Carlo coverage count would need thousands
    of data sets to be as sharp."""
    from mixedfx.inference.bootstrap import simulator

    data = mfx.datasets.load("Dyestuff")
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", data)
    nsim = 200
    estimates = mfx.bootstrap(fit, nsim, seed=11).estimates.to_numpy()
    draws = simulator(fit)
    sums = []
    for stream in np.random.SeedSequence(11).spawn(nsim):
        A = draws.draw(np.random.default_rng(stream))
        sums.append((np.asarray(A.B.matrix)[-1], A.R[-1, -1]))
    expected = np.array([balanced_one_way_from_sums(s, yty, m=5) for s, yty in sums])
    np.testing.assert_allclose(estimates[:, 0], expected[:, 0], rtol=1e-12)
    np.testing.assert_allclose(estimates[:, 1], expected[:, 1], rtol=0, atol=1e-4 * fit.sigma)
    np.testing.assert_allclose(estimates[:, 2], expected[:, 2], rtol=1e-5)

    sd_b = fit.varcorr["sdcor"].iloc[0]
    V = (sd_b**2 + fit.sigma**2 / 5) / 6
    z = (estimates[:, 0] - fit.fixef.iloc[0]) / np.sqrt(V)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 3.5 / np.sqrt(nsim)
    assert abs(z.var(ddof=1) - 1) < 3.5 * np.sqrt(2 / (nsim - 1))


def balanced_one_way_from_sums(group_sums: np.ndarray, yty: float, m: int) -> np.ndarray:
    """`test_properties.balanced_one_way`'s REML estimates (β, σ_b, σ) from the group
    sums and yᵀy."""
    ell = group_sums.size
    n = ell * m
    grand = group_sums.sum() / n
    ssb = float(group_sums @ group_sums) / m - n * grand**2
    sst = yty - n * grand**2
    msw = (sst - ssb) / (n - ell)
    between = ssb / (ell - 1)
    if between > msw:
        return np.array([grand, np.sqrt((between - msw) / m), np.sqrt(msw)])
    return np.array([grand, 0.0, np.sqrt(sst / (n - 1))])


def test_simulate_matches_the_model_moments() -> None:
    """Dyestuff (ℓ = 6 batches of m = 5): in each draw ȳ ~ N(β, (σ_b² + σ²/m)/ℓ),
    SSB/(σ² + mσ_b²) ~ χ²(ℓ − 1) and SSW/σ² ~ χ²(n − ℓ), independently; each law is checked
    by Kolmogorov–Smirnov and its mean within 3.5 standard errors (4000 draws: 1.6% of
    σ² + mσ_b², 0.8% of σ²)."""
    data = mfx.datasets.load("Dyestuff")
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", data)
    nsim, n, ell, m = 4000, 30, 6, 5
    y = fit.simulate(nsim, seed=3)
    assert y.shape == (n, nsim)
    sd_b, sigma = fit.varcorr["sdcor"].iloc[0], fit.sigma
    refs = np.unique(data["Batch"], return_inverse=True)[1]
    means = np.stack([y[refs == g].mean(axis=0) for g in range(ell)])
    grand = y.mean(axis=0)
    ssb = m * ((means - grand) ** 2).sum(axis=0)
    ssw = ((y - means[refs]) ** 2).sum(axis=0)
    laws = [
        ((grand - fit.fixef.iloc[0]) / np.sqrt((sd_b**2 + sigma**2 / m) / ell), stats.norm()),
        (ssb / (sigma**2 + m * sd_b**2), stats.chi2(ell - 1)),
        (ssw / sigma**2, stats.chi2(n - ell)),
    ]
    for statistic, law in laws:
        assert stats.kstest(statistic, law.cdf).pvalue > 1e-3
        assert abs(statistic.mean() - law.mean()) < 3.5 * law.std() / np.sqrt(nsim)


def test_simulated_random_slopes_have_the_model_covariance() -> None:
    """Random slopes correlated at 0.89 (20 groups of 10 rows): each group's responses have
    covariance V = Z Σ Zᵀ + σ² I, Z = [1, x].  Whitened by V's Cholesky factor they are
    independent N(0, 1): over 20 groups × 2000 draws their mean and covariance are checked
    within 4 standard errors of 0 and I (1/√40000 for a mean or covariance, √2 times that
    for a variance)."""
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(20), 10)
    x = np.tile(np.linspace(0, 3, 10), 20)
    b = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 0.25]], 20)
    y = 2 + 0.5 * x + b[g, 0] + b[g, 1] * x + 0.5 * rng.standard_normal(200)
    fit = mfx.lmer("y ~ x + (x | g)", pd.DataFrame({"y": y, "x": x, "g": g}))
    draws = fit.simulate(2000, seed=5) - fit.predict(include_random=False)[:, None]
    Sigma = fit.covariances[0]
    whitened = []
    for group in range(20):
        rows = g == group
        Z = np.column_stack([np.ones(rows.sum()), x[rows]])
        L = np.linalg.cholesky(Z @ Sigma @ Z.T + fit.sigma**2 * np.eye(rows.sum()))
        whitened.append(np.linalg.solve(L, draws[rows]).T)
    w = np.concatenate(whitened)
    se = 1 / np.sqrt(w.shape[0])
    assert np.all(np.abs(w.mean(axis=0)) < 4 * se)
    identity = np.eye(w.shape[1])
    deviation = np.cov(w, rowvar=False) - identity
    assert np.all(np.abs(deviation) < 4 * se * np.where(identity == 1, np.sqrt(2), 1))


def test_every_interval_contains_the_estimate() -> None:
    _, fit = fit_case("sleepstudy_slopes_reml")
    ml = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"), reml=False)
    profile = fit.confint("profile")
    estimates = pd.concat([ml.fixef, pd.Series({"sigma": ml.sigma})])
    for name, value in estimates.items():
        assert profile.at[name, "lower"] <= value <= profile.at[name, "upper"]


def test_parametric_bootstrap_lrt_matches_pbmodcomp() -> None:
    """pbkrtest's PBmodcomp for the article's random slope (tests/data/r/pbmodcomp.R): 870 of
    9963 simulated statistics reach the observed 3.2098, p = 0.0874 (standard error 0.0028),
    under half the χ² p-value 0.2009, as the slope's variance is on its boundary under the
    null.  Ours, from 400 simulations, must agree within 3.5 combined standard errors
    (±0.05); simulating from the larger model, or a χ² null, would give 0.2 or more."""
    data = mfx.datasets.load("exercise_mood")
    small = mfx.lmer("Mood ~ Exercise + (1 | State)", data, reml=False)
    large = mfx.lmer("Mood ~ Exercise + (1 + Exercise | State)", data, reml=False)
    nsim, r_p, r_se = 400, 0.08741469289, 0.0028
    row = mfx.anova(small, large, method="bootstrap", nsim=nsim, seed=5).iloc[0]
    ref = case("exercise_mood_anova_intercept_vs_slopes")
    assert row["chisq"] == pytest.approx(ref["chisq"], rel=1e-6)
    assert row["p_chisq"] == pytest.approx(ref["p"], rel=1e-6)
    exceeding = row["p_value"] * (nsim + 1) - 1  # p = (1 + #{LRT* ≥ LRT}) / (1 + nsim)
    assert exceeding == pytest.approx(round(exceeding), abs=1e-9)
    se = np.sqrt(r_p * (1 - r_p) / nsim + r_se**2)
    assert abs(row["p_value"] - r_p) < 3.5 * se


@pytest.mark.parametrize(
    ("kind", "expected"),
    [  # lmerTest 3.1-3: anova(lmer(angle ~ recipe * temp + (1|recipe:replicate), cake), type=)
        (3, {"recipe": (0.0957, 254.02), "temp": (94.1632, 222.0), "recipe:temp": (0.0417, 222.0)}),
        (2, {"recipe": (0.0957, 254.02), "temp": (94.1632, 222.0), "recipe:temp": (0.0417, 222.0)}),
        (1, {"recipe": (0.2488, 42.0), "temp": (94.1632, 222.0), "recipe:temp": (0.0417, 222.0)}),
    ],
)
def test_anova_types_with_a_continuous_covariate(kind: int, expected: dict) -> None:
    """SAS containment: recipe is not contained in recipe:temp (temp is continuous)."""
    fit = mfx.lmer("angle ~ recipe * temp + (1|recipe:replicate)", mfx.datasets.load("cake"))
    table = fit.anova(type=kind)
    for term, (f_value, den_df) in expected.items():
        assert table.at[term, "f_value"] == pytest.approx(f_value, abs=6e-4)
        assert table.at[term, "den_df"] == pytest.approx(den_df, rel=1e-3)


@pytest.mark.parametrize(
    ("data", "formula"),
    [
        ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
        ("Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
        ("Dyestuff2", "Yield ~ 1 + (1 | Batch)"),  # θ̂ = 0: refits must leave the bound
    ],
)
def test_refits_match_fresh_fits_with_fewer_evaluations(data: str, formula: str) -> None:
    """A bootstrap refit (structure reused, BFGS from θ̂ and the Hessian there) gives the
    fresh fit's estimates, and needs fewer objective evaluations; from a boundary θ̂ it starts
    where a fresh fit does, and needs no more (a singular fresh fit tries a second start)."""
    from mixedfx.pls.covariance import sdcor_vector

    frame = mfx.datasets.load(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(formula, frame)
        refit_evals, fresh_evals = [], []
        for y in fit.simulate(10, seed=2).T:
            response = formula.split("~")[0].strip()
            fresh = mfx.lmer(formula, frame.assign(**{response: y}))
            refit = fit.estimate.refit(fresh.A)
            estimates = np.concatenate([refit.beta, sdcor_vector(refit.covariances, refit.sigma)])
            expected = np.concatenate(
                [fresh.fixef.to_numpy(), np.nan_to_num(VarianceScale.of(fresh).estimate())]
            )
            np.testing.assert_allclose(np.nan_to_num(estimates), expected, rtol=2e-4, atol=1e-4)
            refit_evals.append(refit.optinfo.evaluations)
            fresh_evals.append(fresh.optinfo.evaluations)
    if fit.is_singular:
        assert np.all(np.array(refit_evals) <= np.array(fresh_evals))
    else:
        assert np.mean(refit_evals) < np.mean(fresh_evals)


def test_bfgs_from_the_exact_hessian_takes_one_step() -> None:
    from mixedfx.optimize import OptimizerOptions, bfgs

    class Quadratic:
        blas_threads = None

        def flat_bounds(self, theta: np.ndarray) -> np.ndarray:
            return np.zeros(theta.size, dtype=bool)

        def __call__(self, theta: np.ndarray) -> float:
            return self.value_and_gradient(theta)[0]

        def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
            d = theta - np.array([1.0, 2.0])
            H = np.array([[4.0, 1.0], [1.0, 3.0]])
            return 0.5 * float(d @ H @ d), H @ d

    H = np.array([[4.0, 1.0], [1.0, 3.0]])
    opt = bfgs(Quadratic(), np.zeros(2), np.full(2, -np.inf), OptimizerOptions(), H)
    assert opt.converged and opt.evaluations == 2
    np.testing.assert_allclose(opt.final, [1.0, 2.0], atol=1e-12)
