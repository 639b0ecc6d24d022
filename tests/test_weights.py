"""Prior weights and offset arguments of `lmer`, as lme4's ``lmer(..., weights, offset)``.

Reference numbers: ``tests/data/weights/`` holds the data, copies of the project's two
reference cases (``lmer_weights_reml.json``, ``lmer_offset_weights_ml.json``: lme4 1.1-31,
lmerTest 3.1-3, pbkrtest 0.5.2) and ``weights.json``, written by ``weights.R`` there.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx import cli

HERE = Path(__file__).parent / "data" / "weights"
DATA = pd.read_csv(HERE / "weighted_lmm.csv")
R = json.loads((HERE / "weights.json").read_text())
SLOPES = "y ~ x + (1 + x | g)"
OFFSET = "y ~ x + offset(z) + (1 | g)"


def case(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


def test_weighted_reml_fit_matches_lme4() -> None:
    ref = case("lmer_weights_reml")
    fit = mfx.lmer(SLOPES, DATA, weights="w")
    check_against_case(fit, ref)
    # the ML deviance at the REML θ̂ moves to first order with θ̂, which R has to ~1e-5
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-4)
    assert fit.aic == pytest.approx(ref["aic"], abs=1e-5)
    assert fit.bic == pytest.approx(ref["bic"], abs=1e-5)
    assert fit.df_resid == ref["df_resid"]


def test_weighted_ml_fit_with_offset_term_matches_lme4() -> None:
    ref = case("lmer_offset_weights_ml")
    fit = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    check_against_case(fit, ref)
    population = fit.predict(DATA, include_random=False)[:20]
    np.testing.assert_allclose(population, ref["predict_fixed_only"], rtol=1e-6)


def check_against_case(fit: mfx.LinearMixedModel, ref: dict) -> None:
    """θ, β, σ, the criterion, vcov, fitted values, residuals and conditional modes; θ to
    1e-4 (R's optimizer stops there), the rest to what that moves."""
    assert fit.nobs == ref["nobs"]
    assert fit.objective == pytest.approx(ref["objective"], abs=1e-6)  # a lower one is a win
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=1e-4)
    np.testing.assert_allclose(fit.fixef, ref["fixef"]["estimate"], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), ref["fixef"]["se"], rtol=1e-5)
    np.testing.assert_allclose(fit.vcov, ref["vcov"], rtol=1e-4)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-6)
    np.testing.assert_allclose(fit.fitted, ref["fitted"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fit.residuals, ref["residuals"], rtol=1e-5, atol=1e-5)
    ((group, modes),) = ref["ranef"].items()
    np.testing.assert_allclose(fit.ranef[group].to_numpy(), modes["values"], atol=1e-4)


@pytest.mark.parametrize("name", ["lmer_weights_reml", "lmer_offset_weights_ml"])
def test_satterthwaite_on_weighted_fits_matches_lmerTest(name: str) -> None:
    ref = case(name)
    fit = mfx.lmer(ref["formula"], DATA, weights="w", reml=ref["reml"])
    table = fit.coef_table("satterthwaite")
    np.testing.assert_allclose(table["df"], ref["satterthwaite"]["df"], rtol=1e-4)
    np.testing.assert_allclose(table["p_value"], ref["satterthwaite"]["p"], rtol=1e-3)
    anova = fit.anova()
    assert anova["den_df"].iloc[0] == pytest.approx(
        ref["anova_type3_satterthwaite"]["dendf"][0], rel=1e-4
    )
    assert anova["f_value"].iloc[0] == pytest.approx(
        ref["anova_type3_satterthwaite"]["F"][0], rel=1e-5
    )


def test_satterthwaite_slopes_ml_matches_lmerTest() -> None:
    ref = R["satterthwaite_slopes_ml"]
    fit = mfx.lmer(SLOPES, DATA, weights="w", reml=False)
    table = fit.coef_table("satterthwaite")
    np.testing.assert_allclose(table["df"], ref["df"], rtol=1e-4)
    np.testing.assert_allclose(table["std_error"], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(table["p_value"], ref["p"], rtol=1e-3)


def test_kenward_roger_on_weighted_fit_is_pbkrtests_and_warns() -> None:
    """pbkrtest leaves the weights out of V (so its df change with constant weights);
    mixedfx gives its numbers, and says so."""
    ref = case("lmer_weights_reml")["kenward_roger"]
    fit = mfx.lmer(SLOPES, DATA, weights="w")
    with pytest.warns(mfx.WeightsWarning, match="pbkrtest"):
        table = fit.coef_table("kenward-roger")
    np.testing.assert_allclose(table["df"], ref["df"], rtol=1e-4)
    np.testing.assert_allclose(table["std_error"], ref["se"], rtol=1e-5)


def test_wald_intervals_of_weighted_fit_match_lme4() -> None:
    ref = case("lmer_weights_reml")["confint_wald"]
    ci = mfx.lmer(SLOPES, DATA, weights="w").confint("wald")
    np.testing.assert_allclose(ci.loc[ref["names"], "lower"], ref["lower"], rtol=1e-5)
    np.testing.assert_allclose(ci.loc[ref["names"], "upper"], ref["upper"], rtol=1e-5)


def test_profile_intervals_of_weighted_fit() -> None:
    """The variance parameters' profile intervals as lme4's ``confint(m)``.  For the
    correlation lme4's default spline is off by 0.02: its profile on a grid 4× finer
    (``delta.cutoff = 1/32``) gives the upper end 0.786277, as here (to its interpolation).
    lme4's intervals of the fixed effects of a weighted fit are wrong ((2.899, 2.908) for the
    intercept, whose Wald interval is (2.598, 3.201)); the intercept's is checked against ML
    refits with β₀ held in an offset (``weights.R``)."""
    ref = case("lmer_weights_reml")["confint_profile"]
    ci = mfx.lmer(SLOPES, DATA, weights="w").confint("profile")
    names = ["sd((Intercept)|g)", "sd(x|g)", "sigma"]
    expected = [ref["names"].index(n) for n in ("sd_(Intercept)|g", "sd_x|g", "sigma")]
    np.testing.assert_allclose(ci.loc[names, "lower"], np.take(ref["lower"], expected), rtol=2e-3)
    np.testing.assert_allclose(ci.loc[names, "upper"], np.take(ref["upper"], expected), rtol=2e-3)
    correlation = ci.loc["cor(x,(Intercept)|g)"]
    np.testing.assert_allclose(correlation, R["profile_correlation_fine"], atol=2e-4)
    np.testing.assert_allclose(ci.loc["(Intercept)"], R["profile_intercept"], rtol=1e-6)


def test_pearson_residuals_are_lme4s() -> None:
    fit = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    np.testing.assert_allclose(fit.pearson_residuals[:10], R["pearson_head"], rtol=1e-5)
    np.testing.assert_allclose(
        fit.pearson_residuals, np.sqrt(DATA["w"]) * fit.residuals, rtol=1e-14
    )
    summary = fit.summary()
    np.testing.assert_allclose(summary.scaled_residuals, R["pearson_scaled_quantiles"], rtol=1e-4)
    assert "\nWeights: w\n" in str(summary)
    document = fit.to_dict()
    assert document["weights"] == "w" and document["rows_left_out_zero_weight"] == 0


def test_weights_and_offset_are_read_only_arrays_of_the_rows() -> None:
    fit = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    np.testing.assert_array_equal(fit.weights, DATA["w"])
    np.testing.assert_array_equal(fit.offset, DATA["z"])
    for array in (fit.weights, fit.offset):
        with pytest.raises(ValueError):
            array[0] = 1.0
    plain = mfx.lmer(SLOPES, DATA)
    np.testing.assert_array_equal(plain.weights, np.ones(len(DATA)))
    np.testing.assert_array_equal(plain.offset, np.zeros(len(DATA)))
    assert plain.weights_label is None and "Weights" not in str(plain.summary())


def test_weights_as_array_and_as_column_give_the_same_fit() -> None:
    by_name = mfx.lmer(SLOPES, DATA, weights="w")
    by_array = mfx.lmer(SLOPES, DATA, weights=DATA["w"].to_numpy())
    by_list = mfx.lmer(SLOPES, DATA, weights=list(DATA["w"]))
    for other in (by_array, by_list):
        assert other.objective == by_name.objective
        np.testing.assert_array_equal(other.fixef, by_name.fixef)
    assert by_array.weights_label == "(array)" and by_name.weights_label == "w"


def test_offset_argument_is_an_offset_term() -> None:
    """lme4's ``offset = z`` is ``offset(z)``; as an array too, and it adds to the terms."""
    ref = R["offset_argument"]
    term = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    column = mfx.lmer("y ~ x + (1 | g)", DATA, weights="w", reml=False, offset="z")
    array = mfx.lmer("y ~ x + (1 | g)", DATA, weights="w", reml=False, offset=DATA["z"].to_numpy())
    for fit in (term, column, array):
        assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
        np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=1e-6)
        np.testing.assert_allclose(fit.fitted, term.fitted, rtol=1e-10)
    new = pd.DataFrame(R["predict_new"])
    np.testing.assert_allclose(
        column.predict(new, include_random=False), term.predict(new, include_random=False)
    )
    with pytest.raises(mfx.DataError, match="array"):
        array.predict(new)
    np.testing.assert_allclose(array.predict(), term.fitted, rtol=1e-10)


def test_several_offsets_add_up() -> None:
    """``offset(z) + offset(2 * x)``, and an offset 2x shifts β_x by exactly 2."""
    ref = R["two_offsets"]
    fit = mfx.lmer("y ~ x + offset(z) + offset(2 * x) + (1 | g)", DATA, weights="w", reml=False)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=1e-6)
    np.testing.assert_allclose(fit.fitted[:5], ref["fitted_head"], rtol=1e-6)
    mixed = mfx.lmer(
        "y ~ x + offset(z) + (1 | g)", DATA, weights="w", reml=False, offset=2 * DATA["x"]
    )
    one = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    assert mixed.objective == pytest.approx(one.objective, abs=1e-8)
    assert mixed.fixef["x"] == pytest.approx(one.fixef["x"] - 2.0, abs=1e-7)
    assert mixed.fixef["(Intercept)"] == pytest.approx(one.fixef["(Intercept)"], abs=1e-7)


def test_predictions_on_new_data_take_the_offset_from_them() -> None:
    ref = R["predict_new"]
    fit = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    new = pd.DataFrame({k: ref[k] for k in ("x", "z", "g")})
    np.testing.assert_allclose(fit.predict(new, include_random=False), ref["population"], rtol=1e-6)
    np.testing.assert_allclose(fit.predict(new), ref["conditional"], rtol=1e-5)


@pytest.mark.parametrize("reml", [True, False])
def test_constant_weights_give_the_plain_fit(reml: bool) -> None:
    """w = c: the same model of y (lme4: the same logLik and β), with σ × √c and, θ being
    relative to σ, θ / √c."""
    ref = R["constant_reml" if reml else "constant_ml"]
    plain = mfx.lmer(SLOPES, DATA, reml=reml)
    c = 3.0
    weighted = mfx.lmer(SLOPES, DATA, reml=reml, weights=np.full(len(DATA), c))
    assert weighted.loglik == pytest.approx(plain.loglik, abs=1e-7)
    assert weighted.sigma == pytest.approx(plain.sigma * np.sqrt(c), rel=1e-6)
    np.testing.assert_allclose(weighted.theta, plain.theta / np.sqrt(c), rtol=1e-5)
    np.testing.assert_allclose(weighted.fixef, plain.fixef, rtol=1e-6)
    np.testing.assert_allclose(weighted.vcov, plain.vcov, rtol=1e-5)
    np.testing.assert_allclose(weighted.fitted, plain.fitted, rtol=1e-6)
    for fit, r in ((plain, ref["plain"]), (weighted, ref["weighted"])):
        assert fit.loglik == pytest.approx(r["loglik"], abs=1e-6)
        assert fit.sigma == pytest.approx(r["sigma"], rel=1e-5)
        np.testing.assert_allclose(fit.theta, r["theta"], atol=1e-4)
        np.testing.assert_allclose(fit.fixef, r["fixef"], rtol=1e-5)


def test_the_weights_term_of_the_criterion() -> None:
    """Scaling every weight by c leaves the criterion of y alone: the scaled rows' criterion
    moves by −n log c (ML) and the −Σ log w term by as much the other way."""
    a = mfx.lmer(SLOPES, DATA, weights="w", reml=False)
    b = mfx.lmer(SLOPES, DATA, weights=5.0 * DATA["w"], reml=False)
    assert b.objective == pytest.approx(a.objective, abs=1e-7)
    assert b.A.log_weights == pytest.approx(a.A.log_weights + len(DATA) * np.log(5.0), rel=1e-12)


def test_permuting_the_rows_gives_the_same_fit(rng: np.random.Generator) -> None:
    order = rng.permutation(len(DATA))
    shuffled = DATA.iloc[order].reset_index(drop=True)
    fit = mfx.lmer(OFFSET, DATA, weights="w", reml=False)
    other = mfx.lmer(OFFSET, shuffled, weights=shuffled["w"].to_numpy(), reml=False)
    assert other.objective == pytest.approx(fit.objective, abs=1e-8)
    np.testing.assert_allclose(other.fixef, fit.fixef, rtol=1e-7)
    np.testing.assert_allclose(other.fitted, fit.fitted[order], rtol=1e-7)
    np.testing.assert_allclose(other.pearson_residuals, fit.pearson_residuals[order], atol=1e-7)


def test_rows_of_weight_zero_are_left_out_and_counted() -> None:
    """lme4 keeps them and returns logLik −∞ (and estimates that never left their start);
    mixedfx fits the other rows, as lme4 does on the data without them."""
    ref = R["zero_weights"]
    assert ref["lme4_loglik_with_zero_rows"] == "-Inf"
    weights = DATA["w"].to_numpy().copy()
    weights[ref["rows"]] = 0.0
    with pytest.warns(mfx.ZeroWeightsWarning, match="5 of 600"):
        fit = mfx.lmer(SLOPES, DATA, weights=weights)
    assert fit.nobs == ref["nobs"] and fit.df_resid == ref["df_resid"]
    assert fit.n_zero_weight == 5 and fit.n_dropped == 0
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-6)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=1e-4)
    np.testing.assert_allclose(fit.fixef, ref["fixef"], rtol=1e-5)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-6)
    np.testing.assert_allclose(fit.fitted[:5], ref["fitted_head"], rtol=1e-5)
    assert not np.isin(ref["rows"], fit.frame.rows).any()
    assert "5 row(s) of weight 0 were left out" in str(fit.summary())


@pytest.mark.parametrize(
    ("value", "problem"),
    [(-1.0, "negative"), (np.nan, "missing"), (np.inf, "infinite")],
)
def test_bad_weights_are_refused(value: float, problem: str) -> None:
    weights = DATA["w"].to_numpy().copy()
    weights[7] = value
    with pytest.raises(mfx.DataError, match=rf"{problem}.*row 7"):
        mfx.lmer(SLOPES, DATA, weights=weights)


def test_a_missing_weight_in_a_nullable_column_is_named() -> None:
    data = DATA.assign(w=DATA["w"].astype("Float64"))
    data.loc[7, "w"] = pd.NA
    with pytest.raises(mfx.DataError, match=r"missing \(NaN\).*row 7"):
        mfx.lmer(SLOPES, data, weights="w")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(10), "one number per row"),
        (["a"] * 600, "must be numbers"),
        ("nope", "not in the data"),
        (DATA["w"].iloc[::-1], "index is not the data's"),
        (np.zeros(600), "every complete row has weight 0"),
    ],
)
def test_unusable_weights_are_refused(weights: object, message: str) -> None:
    with pytest.raises(mfx.DataError, match=message):
        mfx.lmer(SLOPES, DATA, weights=weights)


def test_missing_offset_values_drop_rows_as_missing_data() -> None:
    """lme4's na.action drops rows whose offset is NA; so does mixedfx, counting them."""
    data = DATA.copy()
    data.loc[[3, 4], "z"] = np.nan
    with pytest.warns(mfx.MissingValuesWarning, match="2 of 600"):
        by_column = mfx.lmer("y ~ x + (1 | g)", data, weights="w", reml=False, offset="z")
    with pytest.warns(mfx.MissingValuesWarning, match="2 of 600"):
        by_array = mfx.lmer(
            "y ~ x + (1 | g)", data, weights="w", reml=False, offset=data["z"].to_numpy()
        )
    kept = DATA.drop(index=[3, 4]).reset_index(drop=True)
    reference = mfx.lmer(OFFSET, kept, weights="w", reml=False)
    for fit in (by_column, by_array):
        assert fit.nobs == R["offset_na"]["nobs"] and fit.n_dropped == 2
        assert fit.objective == pytest.approx(reference.objective, abs=1e-8)
        assert fit.loglik == pytest.approx(R["offset_na"]["loglik"], abs=1e-6)
    assert data["z"].isna().sum() == 2  # the caller's frame is not modified


def test_an_infinite_offset_is_refused() -> None:
    offset = DATA["z"].to_numpy().copy()
    offset[2] = np.inf
    with pytest.raises(mfx.DataError, match="offset holds infinite"):
        mfx.lmer(SLOPES, DATA, offset=offset)


def test_likelihood_ratio_test_between_weighted_fits_matches_lme4() -> None:
    ref = R["lrt"]
    small = mfx.lmer("y ~ x + (1 | g)", DATA, weights="w", reml=False)
    big = mfx.lmer(SLOPES, DATA, weights="w", reml=False)
    table = mfx.anova(small, big)
    np.testing.assert_allclose([small.loglik, big.loglik], ref["loglik"], atol=1e-6)
    last = table.iloc[-1]
    assert last["chisq"] == pytest.approx(ref["chisq"], rel=1e-6)
    assert last["df"] == ref["df"]
    assert last["p_value"] == pytest.approx(ref["p"], rel=1e-4)


def test_fits_with_other_weights_are_not_compared() -> None:
    small = mfx.lmer("y ~ x + (1 | g)", DATA, weights="w", reml=False)
    big = mfx.lmer(SLOPES, DATA, reml=False)
    with pytest.raises(mfx.DataError, match="different data"):
        mfx.anova(small, big)


def test_simulated_noise_has_variance_sigma_squared_over_w() -> None:
    """The model's ε*ᵢ ~ N(0, σ²/wᵢ), so the variance of y*ᵢ is σ²/wᵢ + the random
    intercept's variance, within the sampling error of 4000 draws.  (lme4 1.1-31's
    ``simulate`` draws σ·rnorm(n) whatever the weights: on these data its rows of weight 1/4
    and 4 both get variance 2.3, where the model says 5.4 and 1.6.)"""
    rng = np.random.default_rng(7)
    n = 200
    data = pd.DataFrame({"x": rng.normal(size=n), "g": np.repeat([f"g{i}" for i in range(20)], 10)})
    data["w"] = np.where(np.arange(n) % 2 == 0, 0.25, 4.0)
    group = np.repeat(rng.normal(size=20), 10)
    data["y"] = 1.0 + data["x"] + group + rng.normal(size=n) / np.sqrt(data["w"])
    fit = mfx.lmer("y ~ x + (1 | g)", data, weights="w")
    draws = fit.simulate(4000, seed=1)
    ratio = draws.var(axis=1) / (fit.sigma**2 / data["w"].to_numpy() + fit.covariances[0][0, 0])
    for part in (ratio[::2], ratio[1::2]):  # rows of weight 1/4, rows of weight 4
        assert part.mean() == pytest.approx(1.0, abs=0.02)


def test_parametric_bootstrap_of_weighted_fit_is_invariant_to_scaling_the_weights() -> None:
    """The bootstrap draws in the space of the scaled rows: with all weights × c the model of
    y is the same, and so are the replicates of β and the standard deviations."""
    a = mfx.lmer("y ~ x + (1 | g)", DATA, weights="w", reml=False)
    b = mfx.lmer("y ~ x + (1 | g)", DATA, weights=4.0 * DATA["w"], reml=False)
    boot_a = mfx.bootstrap(a, nsim=20, seed=3).estimates
    boot_b = mfx.bootstrap(b, nsim=20, seed=3).estimates
    same = ["(Intercept)", "x", "sd((Intercept)|g)"]
    np.testing.assert_allclose(boot_b[same], boot_a[same], rtol=1e-5)
    np.testing.assert_allclose(boot_b["sigma"], 2.0 * boot_a["sigma"], rtol=1e-5)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + offset(z) + (1 | g)",
        "y ~ x + offset(np.log(w)) + offset(2 * z) + (1 | g)",
        "y ~ x + offset(log(w) - z) + (1 | g)",
    ],
)
def test_safe_formulas_accept_offsets_of_allowed_expressions(formula: str) -> None:
    fit = mfx.lmer(formula, DATA, reml=False, safe=True)
    assert fit.nobs == len(DATA)


@pytest.mark.parametrize(
    "formula",
    [
        "y ~ x + offset(__import__('os').getpid()) + (1 | g)",
        "y ~ x + offset(eval('z')) + (1 | g)",
        "y ~ x + offset(z.__class__) + (1 | g)",
    ],
)
def test_safe_formulas_refuse_offsets_of_other_expressions(formula: str) -> None:
    with pytest.raises(mfx.FormulaError):
        mfx.lmer(formula, DATA, safe=True)


def test_command_line_fits_with_weights_and_offset_columns(tmp_path: Path, capfd) -> None:
    path = tmp_path / "weighted.csv"
    DATA.to_csv(path, index=False)
    args = ["fit", "y ~ x + (1 | g)", str(path), "--ml", "--weights", "w", "--offset", "z"]
    assert cli.main([*args, "--format", "json"]) == 0
    document = json.loads(capfd.readouterr().out)
    assert document["loglik"] == pytest.approx(R["offset_argument"]["loglik"], abs=1e-6)
    assert document["weights"] == "w"
    assert cli.main(args) == 0
    assert "\nWeights: w\n" in capfd.readouterr().out


def test_r2_of_weighted_fit_is_performances() -> None:
    """performance's ``r2_nakagawa``: the variances of the rows without their weights, σ² the
    residual variance at weight 1."""
    ref = R["r2_nakagawa"]
    r2 = mfx.nakagawa_r2(mfx.lmer("y ~ x + (1 | g)", DATA, weights="w"))
    assert r2.marginal == pytest.approx(ref["marginal"], rel=1e-6)
    assert r2.conditional == pytest.approx(ref["conditional"], rel=1e-6)


def test_weighted_criteria_are_the_gaussian_likelihood_of_y() -> None:
    """An independent dense computation: with Ṽ = ZΛΛᵀZᵀ + W⁻¹ (V = σ²Ṽ), the ML deviance is
    log|Ṽ| + n (1 + log(2π r²/n)) and the REML criterion adds log|XᵀṼ⁻¹X| with n − p, r² the
    generalized residual sum of squares of y − offset; for crossed terms (sparse and dense
    products, summed over chunks) at a θ away from the optimum."""
    from mixedfx.crossprod.products import cross_products, term_matrix
    from mixedfx.pls.criterion import ML, REML
    from mixedfx.pls.deviance import ProfiledDeviance

    rng = np.random.default_rng(11)
    n = 90
    data = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "a": [f"a{i}" for i in rng.integers(0, 6, n)],
            "b": [f"b{i}" for i in rng.integers(0, 4, n)],
            "o": rng.normal(size=n),
            "w": rng.uniform(0.2, 3.0, n),
        }
    )
    data["y"] = data["x"] + data["o"] + rng.normal(size=n) / np.sqrt(data["w"])
    fit = mfx.lmer("y ~ x + offset(o) + (1 | a) + (1 | b)", data, weights="w")
    design, theta = fit.design, np.array([0.7, 1.3])
    Z = np.hstack([term_matrix(t).toarray() for t in design.terms])
    Lam = np.diag(np.repeat(theta, [t.nlevels for t in design.terms]))
    X, r_y = design.fixed.X, design.y - data["o"].to_numpy()
    V = Z @ Lam @ Lam @ Z.T + np.diag(1.0 / data["w"].to_numpy())
    Vinv = np.linalg.inv(V)
    XtVX = X.T @ Vinv @ X
    resid = r_y - X @ np.linalg.solve(XtVX, X.T @ Vinv @ r_y)
    r2, logdet = float(resid @ Vinv @ resid), np.linalg.slogdet(V)[1]
    p = X.shape[1]
    ml = logdet + n * (1 + np.log(2 * np.pi * r2 / n))
    reml = logdet + np.linalg.slogdet(XtVX)[1] + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))
    for dense in (True, False):
        A = cross_products(design, chunk_rows=23, dense=dense)
        assert ProfiledDeviance(A, ML())(theta) == pytest.approx(ml, rel=1e-11)
        assert ProfiledDeviance(A, REML())(theta) == pytest.approx(reml, rel=1e-11)
