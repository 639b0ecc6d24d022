"""t and F tests, Kenward–Roger, intervals and the bootstrap against lmerTest/pbkrtest/lme4.

Tolerances as the reference checker's: df 1% relative, p-values 2% relative, Wald intervals
1e-3 and profile intervals 2e-2 of their width.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.inference.profile import VarianceScale

from conftest import case, case_frame, lmer_cases


def fit_case(name: str) -> tuple[dict, mfx.LinearMixedModel]:
    ref = case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        return ref, mfx.lmer(ref["formula"], case_frame(ref), reml=ref["reml"])


def norm(name: str) -> str:
    return ":".join(sorted(name.split(":")))


SMALL = [c for c in lmer_cases() if c not in ("exam_reml",)]


@pytest.mark.parametrize("name", SMALL)
def test_satterthwaite_matches_lmertest(name: str) -> None:
    ref, fit = fit_case(name)
    table = fit.coef_table("satterthwaite").rename(index=norm)
    names = [norm(n) for n in ref["fixef"]["names"]]
    np.testing.assert_allclose(table.loc[names, "df"], ref["satterthwaite"]["df"], rtol=1e-2)
    np.testing.assert_allclose(table.loc[names, "p_value"], ref["satterthwaite"]["p"], rtol=2e-2)


@pytest.mark.parametrize("name", [c for c in SMALL if case(c).get("kenward_roger")])
def test_kenward_roger_matches_pbkrtest(name: str) -> None:
    ref, fit = fit_case(name)
    kr = ref["kenward_roger"]
    table = fit.coef_table("kenward-roger").rename(index=norm)
    names = [norm(n) for n in ref["fixef"]["names"]]
    np.testing.assert_allclose(table.loc[names, "df"], kr["df"], rtol=1e-2)
    np.testing.assert_allclose(table.loc[names, "p_value"], kr["p"], rtol=2e-2)
    np.testing.assert_allclose(table.loc[names, "std_error"], kr["se"], rtol=2e-3)
    vcov_kr = fit.vcov_kr().rename(index=norm, columns=norm).loc[names, names]
    np.testing.assert_allclose(np.sqrt(np.diag(vcov_kr)), kr["se"], rtol=2e-3)


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
    pd.testing.assert_frame_equal(one.estimates, two.estimates)
    assert one.completed == 20
    assert list(one.estimates.columns) == ["(Intercept)", "sd((Intercept)|Batch)", "sigma"]
    intervals = one.intervals(0.9)
    assert np.all(intervals["lower"] <= intervals["upper"])


def test_simulate_matches_the_model_moments() -> None:
    fit = mfx.lmer("Yield ~ 1 + (1 | Batch)", mfx.datasets.load("Dyestuff"))
    y = fit.simulate(4000, seed=3)
    assert y.shape == (30, 4000)
    sd_b, sigma = fit.varcorr["sdcor"].iloc[0], fit.sigma
    # Var(y_i) = σ_b² + σ², Cov(y_i, y_j) = σ_b² within a batch; Monte Carlo error ~2-3%
    assert np.var(y[0]) == pytest.approx(sd_b**2 + sigma**2, rel=0.08)
    assert np.cov(y[0], y[1])[0, 1] == pytest.approx(sd_b**2, rel=0.2)
    assert y.mean() == pytest.approx(
        fit.fixef.iloc[0], abs=3 * np.sqrt((sd_b**2 + sigma**2 / 5) / 6 / 4000) * 3
    )


def test_bootstrap_interval_coverage_on_simulated_data() -> None:
    """90% percentile intervals for the fixed intercept cover the truth in about 90% of data
    sets; with 40 data sets the Monte Carlo standard error is 0.047."""
    rng = np.random.default_rng(11)
    covered = 0
    n_sets = 40
    for _ in range(n_sets):
        g = np.repeat(np.arange(12), 6)
        y = 10.0 + rng.normal(0, 1.0, 12)[g] + rng.normal(0, 1.0, g.size)
        fit = mfx.lmer("y ~ 1 + (1 | g)", pd.DataFrame({"y": y, "g": g}))
        ci = mfx.bootstrap(fit, 100, seed=int(rng.integers(1 << 30))).intervals(0.9)
        covered += ci.loc["(Intercept)", "lower"] <= 10.0 <= ci.loc["(Intercept)", "upper"]
    assert 0.9 - 3 * 0.047 <= covered / n_sets <= 1.0


def test_every_interval_contains_the_estimate() -> None:
    _, fit = fit_case("sleepstudy_slopes_reml")
    ml = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"), reml=False)
    profile = fit.confint("profile")
    estimates = pd.concat([ml.fixef, pd.Series({"sigma": ml.sigma})])
    for name, value in estimates.items():
        assert profile.at[name, "lower"] <= value <= profile.at[name, "upper"]


def test_parametric_bootstrap_lrt() -> None:
    data = mfx.datasets.load("sleepstudy")
    small = mfx.lmer("Reaction ~ Days + (1 | Subject)", data, reml=False)
    large = mfx.lmer("Reaction ~ Days + (Days | Subject)", data, reml=False)
    table = mfx.anova(small, large, method="bootstrap", nsim=40, seed=5)
    assert table["chisq"].iloc[0] == pytest.approx(
        case("sleepstudy_anova_intercept_vs_slopes")["chisq"], rel=1e-3
    )
    assert table["p_value"].iloc[0] == pytest.approx(1 / 41)


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
    from mixedfx.inference.bootstrap import Refitter, draw_response

    frame = mfx.datasets.load(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(formula, frame)
        refitter = Refitter.of(fit)
        rng = np.random.default_rng(2)
        refit_evals, fresh_evals = [], []
        for _ in range(10):
            y = draw_response(fit, rng)
            response = formula.split("~")[0].strip()
            fresh = mfx.lmer(formula, frame.assign(**{response: y}))
            estimates = refitter.refit(y)
            expected = np.concatenate(
                [fresh.fixef.to_numpy(), np.nan_to_num(VarianceScale.of(fresh).estimate())]
            )
            np.testing.assert_allclose(np.nan_to_num(estimates), expected, rtol=2e-4, atol=1e-4)
            refit_evals.append(refitter._optimum(y)[1].evaluations)
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
