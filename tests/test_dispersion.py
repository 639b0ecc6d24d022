"""A residual SD per stratum of rows (``dispformula``) against nlme's varIdent fits, the
derivatives against central differences, and invariances."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.data.dispersion import dispersion_design
from mixedfx.models.dispersion import reweighting_of
from mixedfx.pls.criterion import ML, REML
from mixedfx.pls.dispersion import DispersionDeviance

from conftest import case, case_frame

CASES = ["exercise_mood_disp_ml", "exercise_mood_disp_reml", "sleepstudy_disp_half_reml"]


def fit_case(name: str) -> tuple[mfx.LinearMixedModel, dict]:
    ref = case(name)
    data = case_frame(ref)
    return mfx.lmer(ref["formula"], data, reml=ref["reml"], dispformula=ref["dispformula"]), ref


@pytest.mark.parametrize("name", CASES)
def test_matches_nlme_varident(name: str) -> None:
    """nlme::lme(..., weights = varIdent(form = ~ 1 | G)); tolerances as the reference
    set's: the criterion to 1e-6, SDs and fixed effects far inside the reference's."""
    fit, ref = fit_case(name)
    assert fit.objective == pytest.approx(ref["objective"], abs=1e-6)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-6)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-6)
    levels = ref["dispersion_levels"]
    np.testing.assert_allclose(
        fit.residual_sd.loc[levels], [ref["residual_sd"][lv] for lv in levels], rtol=2e-5
    )
    np.testing.assert_allclose(fit.fixef, ref["fixef"]["estimate"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.vcov, ref["vcov"], rtol=1e-4)
    sds = fit.varcorr.query("var2.isna() and group != 'Residual'", engine="python")["sdcor"]
    np.testing.assert_allclose(sds, ref["varcorr"][0]["sd"], rtol=1e-4)
    spread = float(np.std(np.add(ref["fitted"], ref["residuals"])))  # sd(y), as the reference set
    np.testing.assert_allclose(fit.fitted, ref["fitted"], atol=1e-5 * spread)
    np.testing.assert_allclose(fit.residuals, ref["residuals"], atol=1e-5 * spread)


def objective(name: str) -> DispersionDeviance:
    ref = case(name)
    data = case_frame(ref)
    plain = mfx.lmer(ref["formula"], data, reml=ref["reml"])
    strata_of = dispersion_design(ref["dispformula"], data, plain.frame.rows)
    reweighting = reweighting_of(plain.design, strata_of)
    return DispersionDeviance(reweighting, REML() if ref["reml"] else ML())


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_central_differences(name: str) -> None:
    """∂d/∂θ and ∂d/∂γ (the chain rule through the strata's cross-products)."""
    f = objective(name)
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [rng.uniform(0.2, 1.2, f.layout.size), rng.uniform(-0.5, 0.5, f.reweighting.size)]
    )
    h = 1e-6
    reference = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    value, gradient = f.value_and_gradient(x)
    assert value == pytest.approx(f(x), rel=1e-13)
    np.testing.assert_allclose(gradient, reference, rtol=1e-5, atol=1e-5)


def test_one_stratum_is_the_plain_fit() -> None:
    data = mfx.datasets.load("sleepstudy").assign(all="x")
    plain = mfx.lmer("Reaction ~ Days + (Days | Subject)", data)
    one = mfx.lmer("Reaction ~ Days + (Days | Subject)", data, dispformula="~ all")
    assert one.objective == pytest.approx(plain.objective, rel=1e-12)
    np.testing.assert_allclose(one.theta, plain.theta, rtol=1e-6)
    assert one.npar == plain.npar
    assert one.residual_sd.loc["x"] == pytest.approx(plain.sigma, rel=1e-7)


def test_relabelled_levels_and_scaled_response() -> None:
    """Renaming the levels (so another is the reference) changes no SD; y·c scales every SD
    by c and the criterion by −2n log c."""
    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    fit = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    renamed = data.assign(State=data["State"].map({"A": "z", "B": "b", "C": "c", "D": "a"}))
    other = mfx.lmer(ref["formula"], renamed, reml=False, dispformula="~ State")
    assert other.objective == pytest.approx(fit.objective, abs=1e-7)
    np.testing.assert_allclose(
        other.residual_sd.loc[["z", "b", "c", "a"]], fit.residual_sd.loc[list("ABCD")], rtol=1e-5
    )
    c = 3.0
    scaled = mfx.lmer(
        ref["formula"], data.assign(Mood=c * data["Mood"]), reml=False, dispformula="~ State"
    )
    np.testing.assert_allclose(scaled.residual_sd, c * fit.residual_sd, rtol=1e-5)
    assert scaled.objective == pytest.approx(fit.objective + 2 * fit.nobs * np.log(c), abs=1e-6)


def test_likelihood_ratio_test_against_one_residual_variance() -> None:
    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    plain = mfx.lmer(ref["formula"], data, reml=False)
    disp = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    table = mfx.anova(plain, disp)
    last = table.iloc[-1]
    assert last["chisq"] == pytest.approx(2 * (disp.loglik - plain.loglik), rel=1e-10)
    assert last["df"] == 3
    assert disp.npar == plain.npar + 3


def test_refit_by_ml_refits_the_dispersion_too() -> None:
    ref_ml = case("exercise_mood_disp_ml")
    ref_reml = case("exercise_mood_disp_reml")
    fit = mfx.lmer(ref_reml["formula"], case_frame(ref_reml), dispformula="~ State")
    ml = fit.refit(ML())
    assert ml.objective == pytest.approx(ref_ml["objective"], abs=1e-6)


@pytest.mark.parametrize(
    ("dispformula", "error", "message"),
    [
        ("State", mfx.FormulaError, "is not of the form"),
        ("~ log(Exercise)", mfx.FormulaError, "is not of the form"),
        ("~ State:Exercise", mfx.FormulaError, "is not of the form"),
        ("~ Stat", mfx.DataError, "did you mean 'State'"),
    ],
)
def test_bad_dispersion_formulas(dispformula: str, error: type, message: str) -> None:
    data = mfx.datasets.load("exercise_mood")
    with warnings.catch_warnings(), pytest.raises(error, match=message):
        mfx.lmer("Mood ~ Exercise + (1 | State)", data, dispformula=dispformula)


def test_missing_stratum_is_named() -> None:
    data = mfx.datasets.load("exercise_mood")
    data.loc[3, "State"] = None
    data["g"] = np.arange(len(data)) % 7
    with pytest.raises(mfx.DataError, match="missing"):
        mfx.lmer("Mood ~ Exercise + (1 | g)", data, dispformula="~ State")


def test_data_not_modified() -> None:
    data = mfx.datasets.load("exercise_mood")
    copy = data.copy()
    mfx.lmer("Mood ~ Exercise + (1 | State)", data, dispformula="~ State")
    pd.testing.assert_frame_equal(data, copy)


class DenseModel:
    """The heteroscedastic model written densely: V = σ²(Z Λ Λᵀ Zᵀ + diag(δ²)), for
    Satterthwaite's df by textbook formulas and numerical derivatives."""

    def __init__(self, fit: mfx.LinearMixedModel) -> None:
        from mixedfx.crossprod.products import term_matrix

        self.fit = fit
        self.Z = np.hstack([term_matrix(t).toarray() for t in fit.design.terms])
        self.X, self.y = fit.design.fixed.X, fit.design.y
        assert fit.dispersion is not None
        design = fit.dispersion.design
        self.rows_D = design.X
        self.k = fit.layout.size

    def V(self, psi: np.ndarray) -> np.ndarray:
        theta, gamma, sigma = psi[: self.k], psi[self.k : -1], psi[-1]
        Lam = np.kron(np.eye(self.fit.ngroups["State"]), self.fit.layout.templates(theta)[0])
        ZL = self.Z @ Lam
        return sigma**2 * (ZL @ ZL.T + np.diag(np.exp(2 * self.rows_D @ gamma)))

    def reml(self, psi: np.ndarray) -> float:
        V = self.V(psi)
        Vi = np.linalg.inv(V)
        XVX = self.X.T @ Vi @ self.X
        beta = np.linalg.solve(XVX, self.X.T @ Vi @ self.y)
        r = self.y - self.X @ beta
        n, p = self.X.shape
        return float(
            np.linalg.slogdet(V)[1]
            + np.linalg.slogdet(XVX)[1]
            + r @ Vi @ r
            + (n - p) * np.log(2 * np.pi)
        )

    def vcov(self, psi: np.ndarray) -> np.ndarray:
        return np.linalg.inv(self.X.T @ np.linalg.solve(self.V(psi), self.X))


def test_satterthwaite_df_against_a_dense_computation() -> None:
    """df = 2 (cᵀVc)² / (gᵀ A g) with g = ∂(cᵀ vcov c)/∂ψ and A = 2 H⁻¹ over ψ = (θ, γ, σ),
    all by numerical derivatives of the dense REML criterion and vcov: the variance ratios'
    uncertainty enters the df like every other variance parameter's."""
    from numderiv import hessian, jacobian

    data = mfx.datasets.load("exercise_mood").iloc[::2]  # half the rows: a faster dense check
    fit = mfx.lmer("Mood ~ Exercise + (1 + Exercise | State)", data, dispformula="~ State")
    dense = DenseModel(fit)
    assert fit.dispersion is not None
    psi = np.concatenate([fit.theta, fit.dispersion.gamma, [fit.sigma]])
    assert dense.reml(psi) == pytest.approx(fit.objective, rel=1e-10)
    np.testing.assert_allclose(dense.vcov(psi), fit.vcov, rtol=1e-8)
    A = 2 * np.linalg.inv(hessian(dense.reml, psi))
    J = jacobian(dense.vcov, psi)
    table = fit.coef_table()
    for j, c in enumerate(np.eye(2)):
        g = np.einsum("a,iab,b->i", c, J, c)
        df = 2 * float(c @ fit.vcov.to_numpy() @ c) ** 2 / float(g @ A @ g)
        assert table["df"].iloc[j] == pytest.approx(df, rel=1e-4)


def test_residual_sd_intervals_against_a_dense_hessian() -> None:
    """Wald intervals of log(σ δ_s) from 2 H⁻¹ of the dense ML deviance in (θ, γ, σ).  (nlme's
    intervals(m) are up to 1–2% narrower here: its Hessian is fdHess's quadratic fit.)"""
    from numderiv import hessian

    data = mfx.datasets.load("exercise_mood").iloc[::2]  # half the rows: a faster dense check
    fit = mfx.lmer(
        "Mood ~ Exercise + (1 + Exercise | State)", data, reml=False, dispformula="~ State"
    )
    dense = DenseModel(fit)
    assert fit.dispersion is not None
    psi = np.concatenate([fit.theta, fit.dispersion.gamma, [fit.sigma]])

    def deviance(psi: np.ndarray) -> float:
        V = dense.V(psi)
        Vi = np.linalg.inv(V)
        beta = np.linalg.solve(dense.X.T @ Vi @ dense.X, dense.X.T @ Vi @ dense.y)
        r = dense.y - dense.X @ beta
        return float(np.linalg.slogdet(V)[1] + r @ Vi @ r + r.size * np.log(2 * np.pi))

    assert deviance(psi) == pytest.approx(fit.deviance, rel=1e-10)
    A = 2 * np.linalg.inv(hessian(deviance, psi))
    k = fit.theta.size
    a = np.zeros((4, psi.size))
    assert fit.dispersion.design.D is not None
    a[:, k:-1] = fit.dispersion.design.D
    a[:, -1] = 1 / fit.sigma
    se = np.sqrt(np.einsum("si,ij,sj->s", a, A, a))
    intervals = fit.residual_sd_intervals(0.95)
    z = 1.959963984540054
    np.testing.assert_allclose(intervals["lower"], fit.residual_sd * np.exp(-z * se), rtol=1e-5)
    np.testing.assert_allclose(intervals["upper"], fit.residual_sd * np.exp(z * se), rtol=1e-5)
    assert np.all(intervals["lower"] < intervals["estimate"])


def test_summary_varcorr_and_pearson_residuals_show_the_strata() -> None:
    fit, ref = fit_case("exercise_mood_disp_reml")
    text = str(fit.summary())
    assert "Residual standard deviation by State:" in text
    for level in ref["dispersion_levels"]:
        assert f"\n {level} " in text
    assert "Residual standard deviation by State" in fit.summary().to_markdown()
    assert "Residual standard deviation by State" in fit.summary()._repr_html_()
    residual = fit.varcorr.query("group == 'Residual'")
    assert list(residual["var1"]) == ref["dispersion_levels"]
    np.testing.assert_allclose(residual["sdcor"], fit.residual_sd.loc[residual["var1"]])
    # Pearson residuals share one variance σ²: each stratum's are divided by its δ
    data = case_frame(ref)
    pearson = pd.Series(fit.pearson_residuals).groupby(data["State"].to_numpy())
    ratio = fit.residual_sd / fit.sigma
    raw = pd.Series(fit.residuals).groupby(data["State"].to_numpy())
    np.testing.assert_allclose(pearson.std(), raw.std() / ratio.loc[list(pearson.groups)])


@pytest.mark.parametrize(
    "method",
    [
        lambda fit: fit.confint("profile"),
        lambda fit: fit.coef_table("kenward-roger"),
        lambda fit: mfx.anova(fit.refit(ML()), fit, method="bootstrap", nsim=5),
    ],
    ids=["profile", "kenward-roger", "pbmodcomp-of-two-dispersion-fits"],
)
def test_methods_that_hold_the_ratios_fixed_say_so(method) -> None:
    """Profiles, the bootstrap LRT and Kenward–Roger would treat the strata's variance
    ratios as known: a clear error, not a silently conditional answer."""
    fit, _ = fit_case("exercise_mood_disp_reml")
    with pytest.raises(mfx.UnsupportedError, match="residual_sd_intervals"):
        method(fit)


def test_simulated_responses_have_each_stratum_variance() -> None:
    """Var(y*ᵢ) = σ²δ²_s(i) + zᵢ G zᵢᵀ over 4000 draws, per State within 6% (the Monte Carlo
    SE of a variance from 4000 draws is 2%, and each State averages ~60 rows)."""
    fit, ref = fit_case("exercise_mood_disp_ml")
    data = case_frame(ref)
    draws = fit.simulate(4000, seed=1)
    z = np.column_stack([np.ones(len(data)), data["Exercise"]])
    G = fit.covariances[0]
    expected = fit.residual_sd.loc[data["State"]].to_numpy() ** 2 + np.einsum(
        "ia,ab,ib->i", z, G, z
    )
    ratio = pd.Series(draws.var(axis=1) / expected).groupby(data["State"].to_numpy()).mean()
    np.testing.assert_allclose(ratio, 1.0, atol=0.06)


VAREXP = json.loads((Path(__file__).parent / "data/dispersion/sleepstudy_varexp.json").read_text())


@pytest.mark.parametrize("reml", [False, True], ids=["ml", "reml"])
def test_numeric_dispersion_variable_matches_nlme_varexp_and_glmmtmb(reml: bool) -> None:
    """log σᵢ = log σ + γ Daysᵢ: nlme's varExp(form = ~ Days) and glmmTMB's dispformula = ~ Days
    (which models log σ², so its slope is 2γ) give the same likelihood."""
    ref = VAREXP["reml" if reml else "ml"]
    data = mfx.datasets.load("sleepstudy")
    fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", data, reml=reml, dispformula="~ Days")
    assert fit.loglik == pytest.approx(ref["nlme_loglik"], abs=1e-6)
    assert fit.loglik == pytest.approx(ref["glmmTMB_loglik"], abs=1e-6)
    assert fit.dispersion_coef is not None
    assert fit.dispersion_coef["Days"] == pytest.approx(ref["nlme_varexp"], rel=1e-4)
    assert 2 * fit.dispersion_coef["Days"] == pytest.approx(ref["glmmTMB_disp"][1], rel=1e-4)
    assert fit.sigma == pytest.approx(ref["nlme_sigma"], rel=1e-5)
    np.testing.assert_allclose(fit.fixef, ref["nlme_fixef"], rtol=1e-6)
    np.testing.assert_allclose(fit.vcov, ref["nlme_vcov"], rtol=1e-4)  # nlme's varFix
    np.testing.assert_allclose(fit.varcorr["sdcor"].iloc[:2], ref["nlme_sd"], rtol=1e-5)
    gamma = fit.dispersion_coef["Days"]
    np.testing.assert_allclose(fit.residual_sd, fit.sigma * np.exp(gamma * data["Days"]))
    assert "log σ by Days" in str(fit.summary())


def test_numeric_dispersion_gradient_matches_central_differences() -> None:
    """The γ gradient from cross-products with signed row weights (an uncentred variable and
    a centred one, whose weights change sign)."""
    data = mfx.datasets.load("sleepstudy").assign(centred=lambda d: d["Days"] - 4.5)
    for variable in ("Days", "centred"):
        fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", data, dispformula=f"~ {variable}")
        assert fit.dispersion is not None
        f = fit.dispersion.objective(REML())
        x = np.concatenate([fit.theta * 1.2, [0.05]])
        h = 1e-6
        reference = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)]
        np.testing.assert_allclose(f.value_and_gradient(x)[1], reference, rtol=1e-5, atol=1e-5)


def test_stratified_simulation_has_the_models_moments() -> None:
    """Each stratum's simulated cross-products (no rows): E[Z_sᵀy*] = Z_sᵀXβ and
    E[y*ᵀy*] = βᵀX_sᵀX_sβ + σ² Σ_g tr(T Tᵀ Z_gᵀZ_g) + n_s σ²δ_s², over 4000 draws within 3%."""
    fit, _ = fit_case("exercise_mood_disp_ml")
    assert fit.dispersion is not None
    parts = fit.dispersion.reweighting.strata.parts
    rng = np.random.default_rng(3)
    draws = [fit._strata_simulator.draw(rng) for _ in range(4000)]
    beta, sigma = fit.fixef.to_numpy(), fit.sigma
    T = fit.layout.templates(fit.theta)[0]
    for s, (A, ratio) in enumerate(zip(parts, fit.dispersion.ratios)):
        XtX = A.XtX
        expected = (
            beta @ XtX @ beta
            + sigma**2 * np.einsum("ab,gba->", T @ T.T, A.A11)
            + A.n * (sigma * ratio) ** 2
        )
        mean = np.mean([draw[s].R[-1, -1] for draw in draws])
        assert mean == pytest.approx(expected, rel=0.03)
        Zty = np.mean([np.asarray(draw[s].B.matrix)[-1] for draw in draws], axis=0)
        np.testing.assert_allclose(Zty, _ZtXbeta(A, beta), rtol=0.03)


def _ZtXbeta(A, beta: np.ndarray) -> np.ndarray:
    """Z₁ᵀXβ from B's rows of X."""
    B = np.asarray(A.B.matrix)
    return beta @ B[A.q_rest : A.q_rest + A.p]


def test_bootstrap_refits_the_strata_too() -> None:
    """Replicates refit (θ, γ): the percentile intervals of the strata's SDs cover the
    estimates and agree with the Wald intervals on the log scale to within a quarter of their
    width (200 replicates)."""
    fit, _ = fit_case("exercise_mood_disp_ml")
    result = mfx.bootstrap(fit, 200, seed=1, progress=lambda done, total: None)
    assert result.completed == 200
    intervals = result.intervals(0.95)
    wald = fit.residual_sd_intervals(0.95)
    for level in ["B", "C", "D"]:
        lower, upper = intervals.loc[f"sigma_{level}"]
        assert lower < fit.residual_sd[level] < upper
        width = wald.loc[level, "upper"] - wald.loc[level, "lower"]
        assert abs(lower - wald.loc[level, "lower"]) < 0.25 * width
        assert abs(upper - wald.loc[level, "upper"]) < 0.25 * width


def test_a_stratum_of_one_row_is_named() -> None:
    """Its SD would go to 0 with the likelihood unbounded: an error naming it, not a fit."""
    data = mfx.datasets.load("sleepstudy").assign(part="a")
    data.loc[5, "part"] = "b"
    with pytest.raises(mfx.DataError, match=r"\['b'\] has a single row"):
        mfx.lmer("Reaction ~ Days + (Days | Subject)", data, dispformula="~ part")


def test_weights_and_a_residual_sd_per_stratum_together() -> None:
    """Prior weights all equal to c beside a dispersion formula: the same log-likelihood and
    ratios, every SD times √c (as without a dispersion formula)."""
    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    fit = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    weighted = mfx.lmer(
        ref["formula"], data.assign(w=4.0), reml=False, dispformula="~ State", weights="w"
    )
    assert weighted.loglik == pytest.approx(fit.loglik, abs=1e-7)
    np.testing.assert_allclose(weighted.residual_sd, 2.0 * fit.residual_sd, rtol=1e-5)


def test_bootstrap_lrt_against_one_residual_sd() -> None:
    """PBmodcomp of one SD against one per State: draws under one SD, refitted per stratum.
    On data simulated with one SD the statistic's null law is χ²₃ (no boundary): mean 3 and
    variance 6 within 3 standard errors over 120 draws, and never below 0 (each refit reaches
    at least the smaller model's optimum).  On the bundled data no draw reaches χ² = 23.3."""
    from mixedfx.inference.pbmodcomp import _null_in_larger, _statistic, nested_columns

    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    plain = mfx.lmer(ref["formula"], data, reml=False)
    disp = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    table = mfx.anova(plain, disp, method="bootstrap", nsim=40, seed=1)
    assert table["chisq"].iloc[0] == pytest.approx(2 * (disp.loglik - plain.loglik), rel=1e-10)
    assert table["p_value"].iloc[0] == pytest.approx(1 / 41)
    null = data.assign(Mood=plain.simulate(1, seed=5)[:, 0])
    small = mfx.lmer(ref["formula"], null, reml=False)
    large = mfx.lmer(ref["formula"], null, reml=False, dispformula="~ State")
    columns, _ = nested_columns(small, large)
    draws = _null_in_larger(small, large, columns, nested_columns(small, large)[1])
    stats = np.array(
        [_statistic(small, large, columns, draws, np.random.default_rng(i)) for i in range(120)]
    )
    assert stats.min() > -1e-6
    assert abs(stats.mean() - 3) < 3 * np.sqrt(6 / 120)
    assert abs(stats.var() - 6) < 3 * np.sqrt(216 / 120)  # Var(s²) ≈ (μ₄ − σ⁴)/n, μ₄ = 252


def test_r2_sets_the_rows_mean_residual_variance_against_the_explained() -> None:
    """Nakagawa's R² of a dispersion fit, from the rows: var(Xβ̂), the mean of zᵢᵀΣzᵢ and the
    mean of σ²δᵢ² (the unweighted rows, not the δ-weighted cross-products)."""
    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    fit = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    r2 = mfx.nakagawa_r2(fit)
    X = fit.design.fixed.X
    z = np.column_stack([np.ones(len(data)), data["Exercise"]])
    var_f = np.var(X @ fit.fixef.to_numpy(), ddof=1)
    var_r = np.mean(np.einsum("ia,ab,ib->i", z, fit.covariances[0], z))
    sigma2 = np.mean(fit.residual_sd.loc[data["State"]].to_numpy() ** 2)
    total = var_f + var_r + sigma2
    assert r2.marginal == pytest.approx(var_f / total, rel=1e-9)
    assert r2.conditional == pytest.approx((var_f + var_r) / total, rel=1e-9)


def test_factor_makes_numeric_codes_strata() -> None:
    """Levels coded as numbers: `~ factor(code)` gives the strata of `~ State`; `~ code`
    alone is a numeric variable, log σ linear in it."""
    ref = case("exercise_mood_disp_ml")
    data = case_frame(ref)
    coded = data.assign(code=data["State"].map({"A": 1, "B": 2, "C": 3, "D": 4}))
    by_state = mfx.lmer(ref["formula"], data, reml=False, dispformula="~ State")
    by_code = mfx.lmer(ref["formula"], coded, reml=False, dispformula="~ factor(code)")
    assert by_code.objective == pytest.approx(by_state.objective, abs=1e-8)
    np.testing.assert_allclose(by_code.residual_sd.to_numpy(), by_state.residual_sd.to_numpy())
    linear = mfx.lmer(ref["formula"], coded, reml=False, dispformula="~ code")
    assert linear.dispersion_coef is not None and list(linear.dispersion_coef.index) == ["code"]
