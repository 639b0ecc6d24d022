"""Linear mixed models: `lmer` runs the pipeline; `LinearMixedModel` is the immutable result.

    parse → frame → design → cross-products → objective → optimize → finalize

Only the frame, design and cross-product stages read the n rows; the optimizer works on
blocks whose size depends on levels and columns alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixedfx.crossprod.products import CrossProducts, cross_products
from mixedfx.crossprod.strata import Strata, StrataDispersion
from mixedfx.data.design import Design, build_design
from mixedfx.data.dispersion import dispersion_design
from mixedfx.data.fixed_terms import FixedTerm, fixed_terms, full_coding
from mixedfx.data.frame import ModelFrame, as_pandas, model_frame, prediction_rows
from mixedfx.data.weights import RowValues, row_arguments, with_offset_column
from mixedfx.errors import ConvergenceWarning, SingularFitWarning, UnsupportedError, WeightsWarning
from mixedfx.formula import MixedFormula, parse_formula
from mixedfx.formula.safe import check_formula
from mixedfx.models.dispersion import DispersionFit, fit_dispersion, reweighting_of
from mixedfx.models.estimate import MixedEstimate, fit_cross_products
from mixedfx.models.fitchecks import (
    check_design,
    check_fixed_effects_residual,
    check_optimum_residual,
)
from mixedfx.optimize import OptimizerOptions, OptSummary
from mixedfx.pls.cholesky import BlockedCholesky
from mixedfx.pls.covariance import ThetaLayout, sd_and_corr
from mixedfx.pls.criterion import Criterion, criterion_of
from mixedfx.pls.deviance import ProfiledDeviance

if TYPE_CHECKING:
    from mixedfx.inference.confint import Method
    from mixedfx.inference.contrast_test import ContrastTest
    from mixedfx.inference.ftest import DDF
    from mixedfx.inference.kenward_roger import KenwardRoger
    from mixedfx.inference.profile import Profile
    from mixedfx.inference.protocol import VarianceDerivatives
    from mixedfx.inference.simulation import ResponseSimulator, StratifiedSimulator
    from mixedfx.report.summary import LmerSummary


def lmer(
    formula: str,
    data: pd.DataFrame,
    *,
    reml: bool = True,
    weights: RowValues = None,
    offset: RowValues = None,
    dispformula: str | None = None,
    optimizer: OptimizerOptions | None = None,
    safe: bool = False,
) -> LinearMixedModel:
    """Fit a linear mixed model written in lme4's formula syntax.

    Parameters
    ----------
    formula
        ``"y ~ x + (1 + x | g)"``: fixed effects in formulaic's syntax plus bar terms
        ``(expr | g)``, ``(expr || g)``, nested ``(1 | a/b)`` and interactions ``(1 | a:b)``;
        ``offset(o)`` terms; ``.`` for the other columns (`mixedfx.formula.mixed`).
        A formula is Python code: formulaic evaluates its expressions (``np.log(x)``), so a
        formula can run any program.  Pass ``safe=True`` for a formula you did not write.
    data
        One row per observation.  Not modified; rows with a missing value in a used column
        are removed and counted.
    reml
        Fit by REML (default, as lme4) or, if False, by maximum likelihood.
    weights
        Prior weights, lme4's ``weights``: a column name or N numbers in the data's row order;
        row i's residual variance is σ²/wᵢ.  Finite and ≥ 0; rows of weight 0 are left out
        of the fit, with a `ZeroWeightsWarning` counting them.
    offset
        A known part of the linear predictor, lme4's ``offset``: a column name (the same as an
        ``offset(column)`` term: new data supply it) or N numbers in the data's row order (new
        data cannot).  It adds to the formula's offset terms; rows where it is missing are
        removed and counted as for missing data.
    dispformula
        A residual SD per stratum of rows, glmmTMB's ``dispformula`` and nlme's ``varIdent``:
        ``"~ State"`` gives the rows of each level of State their own residual SD (σ for the
        first level, σ δ_s for the others); ``"~ a + b"`` acts additively on log δ
        (`mixedfx.data.dispersion`).  The δ are estimated with θ by the same criterion;
        `LinearMixedModel.residual_sd` reports the SDs.
    optimizer
        The optimizer and its stopping rules (`OptimizerOptions`); L-BFGS-B with the exact
        gradient when omitted.
    safe
        Refuse, before evaluating anything, a formula that uses more than column names,
        numbers, arithmetic, comparisons and the transforms of `mixedfx.check_formula`.

    Returns
    -------
    LinearMixedModel
        The immutable fit.

    Raises
    ------
    FormulaError, DataError
        On a formula or data that cannot describe a model (see `mixedfx.errors`), on a
        response fitted exactly (`mixedfx.models.fitchecks`), or with ``safe=True`` on a formula
        outside the allow-list.
    """
    data = as_pandas(data)
    parsed = check_formula(formula, data.columns) if safe else parse_formula(formula, data.columns)
    parsed = with_offset_column(parsed, data, offset)
    frame = model_frame(parsed, data, row_arguments(data, weights, offset))
    design = build_design(parsed, frame)
    check_design(design)
    A = cross_products(design)
    check_fixed_effects_residual(A, design.weighted_response)
    criterion = criterion_of(reml)
    options = optimizer or OptimizerOptions()
    if dispformula is None:
        estimate, dispersion = fit_cross_products(A, criterion, options), None
    else:
        dispersion_of = dispersion_design(dispformula, data, frame.rows)
        reweighting = reweighting_of(design, dispersion_of)
        estimate, dispersion = fit_dispersion(reweighting, dispersion_of, criterion, options)
    nu = criterion.dof(A.n, A.p)
    check_optimum_residual(estimate.chol, estimate.A, design.weighted_response, nu)
    fit = LinearMixedModel(parsed, frame, design, estimate, dispersion)
    _warn_about(fit)
    return fit


def _warn_about(fit: LinearMixedModel) -> None:
    if not fit.optinfo.converged:
        warnings.warn(
            f"the optimizer did not converge ({fit.optinfo.message}) after "
            f"{fit.optinfo.evaluations} evaluations; the estimates may not be an optimum",
            ConvergenceWarning,
            stacklevel=3,
        )
    if fit.is_singular:
        warnings.warn(
            "boundary (singular) fit: some random-effect variance is (near) zero or a "
            "correlation is ±1, so the random-effects structure is more complex than the data "
            "support; consider removing terms or correlations, or keep it if it matches "
            "your design",
            SingularFitWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class LinearMixedModel:
    """A fitted linear mixed model.  Immutable; derived quantities are computed on first use.

    Everything but the row-level outputs (`fitted`, `residuals`, `predict` on the fitted rows,
    `simulate`) comes from the estimate, that is from the cross-products, and from the
    encodings' names: inference never rereads the rows.

    Attributes
    ----------
    formula
        The parsed formula.
    frame
        The rows used (and how many were dropped).
    design
        y, X and the random-effects terms (in lme4's order), with their encodings.
    estimate
        The optimum and what follows from the cross-products (`MixedEstimate`).
    """

    formula: MixedFormula
    frame: ModelFrame
    design: Design
    estimate: MixedEstimate
    dispersion: DispersionFit | None = None

    # -- estimates -------------------------------------------------------------------

    @property
    def A(self) -> CrossProducts:
        """The cross-product blocks the fit was computed from."""
        return self.estimate.A

    @cached_property
    def unweighted_A(self) -> CrossProducts:
        """The cross-products of the rows without their prior weights or a dispersion
        formula's (`A` for a fit with neither): pbkrtest's Kenward–Roger and performance's R²
        leave the weights out."""
        if self.design.weights is None and self.dispersion is None:
            return self.A
        return cross_products(replace(self.design, weights=None))

    @property
    def residual_variance(self) -> float:
        """The residual variance at weight 1: σ², or with a dispersion formula the mean over
        the rows of σ²δᵢ² (what R² sets against the explained variance)."""
        if self.dispersion is None:
            return self.sigma**2
        return float(np.mean((self.sigma * self.dispersion.row_ratios) ** 2))

    @property
    def criterion(self) -> Criterion:
        """What was minimized: `ML` or `REML`."""
        return self.estimate.criterion

    @property
    def reml(self) -> bool:
        """True for a REML fit."""
        return self.criterion.name == "REML"

    @property
    def n_dropped(self) -> int:
        """Rows removed for missing values."""
        return self.frame.n_dropped

    @property
    def n_zero_weight(self) -> int:
        """Complete rows left out of the fit because their prior weight is 0."""
        return self.frame.n_zero_weight

    @property
    def weights_label(self) -> str | None:
        """How the prior weights were given: their column's name, ``"(array)"``, or None."""
        return self.frame.weights_label

    @cached_property
    def weights(self) -> np.ndarray:
        """Prior weights of the rows used, shape (n,), read-only (ones without weights), as
        lme4's ``weights(m)``."""
        if self.design.weights is not None:
            return self.design.weights
        out = np.ones(self.nobs)
        out.setflags(write=False)
        return out

    @property
    def offset(self) -> np.ndarray:
        """The offset of the rows used, shape (n,), read-only (zeros without an offset)."""
        return self.design.offset.values

    @property
    def dropped_columns(self) -> tuple[str, ...]:
        """Fixed-effect columns removed for rank deficiency."""
        return self.design.fixed.dropped

    @property
    def method(self) -> str:
        """``"REML"`` or ``"ML"``."""
        return self.criterion.name

    @property
    def optinfo(self) -> OptSummary:
        """The optimizer's record: evaluations, convergence, message."""
        return self.estimate.optinfo

    @property
    def chol(self) -> BlockedCholesky:
        """The blocked Cholesky factor at θ̂."""
        return self.estimate.chol

    @property
    def layout(self) -> ThetaLayout:
        """Where each term's template lives in θ."""
        return self.estimate.layout

    @property
    def theta_hessian(self) -> np.ndarray:
        """Hessian of the objective with respect to θ at θ̂ (`MixedEstimate.theta_hessian`)."""
        return self.estimate.theta_hessian

    def refit_start(self, A: CrossProducts) -> np.ndarray:
        """θ̂ as the start of a refit on cross-products `A` (`mixedfx.pls.start.refit_start`)."""
        return self.estimate.refit_start(A)

    def deviance_function(
        self, A: CrossProducts | None = None, criterion: Criterion | None = None
    ) -> ProfiledDeviance:
        """θ ↦ d(θ) of this model's structure, on the fit's cross-products and criterion by
        default, or on others (another response, an offset; ML for a REML fit)."""
        return self.estimate.deviance_function(A, criterion)

    def refit(
        self, criterion: Criterion | None = None, start: np.ndarray | None = None
    ) -> LinearMixedModel:
        """The same model on the same rows minimized by another criterion (lme4's
        ``refitML``), or from another start, from the cross-products alone."""
        if start is None and (criterion is None or criterion == self.criterion):
            return self
        if self.dispersion is not None:
            x0 = None if start is None else np.concatenate([start, self.dispersion.gamma])
            estimate, dispersion = fit_dispersion(
                self.dispersion.reweighting,
                self.dispersion.design,
                criterion or self.criterion,
                self.optinfo.options,
                x0,
            )
            return replace(self, estimate=estimate, dispersion=dispersion)
        return replace(self, estimate=self.estimate.refit(criterion=criterion, start=start))

    @property
    def theta(self) -> np.ndarray:
        """Relative covariance factors, lme4's order; shape (nθ,)."""
        return self.estimate.theta

    @property
    def fixef_names(self) -> tuple[str, ...]:
        return self.design.fixed.names

    @property
    def fixef(self) -> pd.Series:
        """Fixed-effect estimates β̂, indexed by coefficient name."""
        return pd.Series(self.estimate.beta, index=list(self.fixef_names), name="estimate")

    @property
    def sigma(self) -> float:
        """Residual standard deviation: sqrt(r²/n) for ML, sqrt(r²/(n−p)) for REML."""
        return self.estimate.sigma

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of β̂, σ² (L_X L_Xᵀ)⁻¹; p × p."""
        names = list(self.fixef_names)
        return pd.DataFrame(self.estimate.vcov, index=names, columns=names)

    # -- likelihood --------------------------------------------------------------------

    @property
    def objective(self) -> float:
        """The optimized criterion: REML criterion for REML fits, ML deviance for ML fits."""
        return self.estimate.objective

    @property
    def deviance(self) -> float:
        """ML deviance −2 log L at the estimates (for REML fits, evaluated at the REML θ̂)."""
        return self.estimate.deviance

    @property
    def loglik(self) -> float:
        """Log-likelihood (the REML log-likelihood for REML fits, as lme4's logLik)."""
        return -self.objective / 2

    @property
    def npar(self) -> int:
        """Number of parameters: fixed effects, θ, σ and the dispersion formula's."""
        extra = 0 if self.dispersion is None else self.dispersion.size
        return self.A.p + self.layout.size + 1 + extra

    def residual_sd_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals (log scale) for each stratum's residual SD (each row's, with a
        numeric dispersion variable), from the asymptotic covariance of (θ, γ, σ)
        (`mixedfx.inference.dispersion_varpar`).

        Raises
        ------
        ValueError
            For a fit without a dispersion formula (`confint` has σ's interval).
        """
        if self.dispersion is None:
            raise ValueError(
                "the fit has no dispersion formula; confint() gives the interval of sigma"
            )
        from mixedfx.inference.dispersion_varpar import (
            DispersionVarianceParameters,
            residual_sd_intervals,
        )

        vp = self.variance_parameters
        assert isinstance(vp, DispersionVarianceParameters)
        design = self.dispersion.design
        rows = design.X if design.D is None else design.D
        return residual_sd_intervals(vp, self.residual_sd, rows, level)

    @property
    def dispersion_formula(self) -> str | None:
        """The dispersion formula (``"~ State"``), or None for one residual SD."""
        return None if self.dispersion is None else self.dispersion.design.formula

    @property
    def residual_sd(self) -> pd.Series:
        """The residual SD of each stratum of the dispersion formula (σ δ_s), by level; with a
        numeric dispersion variable, of each row used (σ δᵢ, by the data's row labels); σ
        alone, as ``"(all)"``, without a dispersion formula."""
        if self.dispersion is None:
            return pd.Series([self.sigma], index=["(all)"], name="residual_sd")
        if self.dispersion.design.stratified:
            return (self.sigma * self.dispersion.ratios).rename("residual_sd")
        sds = self.sigma * self.dispersion.row_ratios
        return pd.Series(sds, index=self.frame.data.index, name="residual_sd")

    @property
    def dispersion_strata(self) -> pd.Series | None:
        """The residual SD of each stratum, where the dispersion formula makes strata."""
        stratified = self.dispersion is not None and self.dispersion.design.stratified
        return self.residual_sd if stratified else None

    @property
    def dispersion_coef(self) -> pd.Series | None:
        """γ̂ by name, each term's effect on the log residual SD (log σᵢ = log σ + xᵢγ), or
        None without a dispersion formula."""
        return None if self.dispersion is None else self.dispersion.coef

    @property
    def aic(self) -> float:
        return self.objective + 2 * self.npar

    @property
    def bic(self) -> float:
        return self.objective + self.npar * float(np.log(self.nobs))

    @property
    def nobs(self) -> int:
        return self.A.n

    @property
    def df_resid(self) -> int:
        return self.nobs - self.npar

    @property
    def response_digest(self) -> str:
        """A fingerprint of the response's values: fits to the same rows share it."""
        return self.design.response_digest

    # -- random effects ------------------------------------------------------------------

    @property
    def ngroups(self) -> dict[str, int]:
        """Number of levels of each grouping factor."""
        return {t.factor.name: t.nlevels for t in self.design.terms}

    @cached_property
    def group_names(self) -> tuple[str, ...]:
        """lme4's label per term: a second term on the same factor gets ``.1``, and so on."""
        seen: dict[str, int] = {}
        out = []
        for t in self.design.terms:
            n = seen.get(t.factor.name, 0)
            out.append(t.factor.name if n == 0 else f"{t.factor.name}.{n}")
            seen[t.factor.name] = n + 1
        return tuple(out)

    @property
    def term_names(self) -> tuple[tuple[str, ...], ...]:
        """The coefficient names of each random-effects term, model order."""
        return tuple(t.names for t in self.design.terms)

    @property
    def is_singular(self) -> bool:
        """True when a template diagonal is below 1e-4: a variance at (or near) zero."""
        return self.estimate.is_singular

    @property
    def covariances(self) -> list[np.ndarray]:
        """Random-effects covariance matrix of each term (k_j × k_j), model order."""
        return self.estimate.covariances

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """lme4's ``as.data.frame(VarCorr(m))``: variances, then covariances, residual last.

        Columns ``group``, ``var1``, ``var2`` (None for a variance), ``vcov`` and ``sdcor``
        (the standard deviation, or for a covariance the correlation).  With a dispersion
        formula there is one ``Residual`` row per stratum, ``var1`` naming it (the reference
        stratum first), as nlme prints one residual SD per level.
        """
        rows: list[tuple[str, str | None, str | None, float, float]] = []
        for group, term, cov in zip(self.group_names, self.design.terms, self.covariances):
            sd, corr = sd_and_corr(cov)
            rows += [(group, name, None, cov[i, i], sd[i]) for i, name in enumerate(term.names)]
            k = len(term.names)
            rows += [
                (group, term.names[i], term.names[j], cov[j, i], corr[j, i])
                for i in range(k)
                for j in range(i + 1, k)
            ]
        stratum = self.dispersion is not None
        rows += [
            ("Residual", str(level) if stratum else None, None, sd**2, sd)
            for level, sd in self.residual_sd.items()
        ]
        return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes per grouping factor: levels × coefficients, terms joined per factor."""
        return self._per_factor(self.estimate.solution.b)

    @cached_property
    def ranef_se(self) -> dict[str, pd.DataFrame]:
        """Conditional standard deviations of the random effects, shaped as `ranef`."""
        return self._per_factor(self.estimate.conditional_sds)

    @property
    def coef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``coef()``: fixed effects plus each level's random effects.

        As lme4's ``coef.merMod``, every factor's table has the same columns: first the
        random-effect coefficients of any factor that are not fixed effects (0 where a factor
        has no such random effect), then the fixed effects in their order.
        """
        fixef = self.fixef
        random_only = [c for f in self.ranef.values() for c in f.columns if c not in fixef.index]
        base = pd.concat([pd.Series(0.0, index=list(dict.fromkeys(random_only))), fixef])
        out = {}
        for name, frame in self.ranef.items():
            table = pd.DataFrame(
                np.tile(base.to_numpy(), (len(frame), 1)), index=frame.index, columns=base.index
            )
            table[frame.columns] += frame
            out[name] = table
        return out

    def _per_factor(self, values: list[np.ndarray]) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for term, v in zip(self.design.terms, values):
            name = term.factor.name
            frame = pd.DataFrame(v, index=list(term.factor.levels), columns=list(term.names))
            if name in out:  # a second term on the same factor: lme4 joins them per factor
                clash = set(frame.columns) & set(out[name].columns)
                frame = frame.rename(columns={c: f"{c}.1" for c in clash})
                frame = pd.concat([out[name], frame], axis=1)
            out[name] = frame
        return out

    @cached_property
    def variance_parameters(self) -> VarianceDerivatives:
        """Derivatives with respect to (θ, σ), and the dispersion formula's γ, for
        Satterthwaite's df; computed once per fit."""
        if self.dispersion is not None:
            from mixedfx.inference.dispersion_varpar import DispersionVarianceParameters

            objective = self.dispersion.objective(self.criterion)
            return DispersionVarianceParameters(self, objective, self.dispersion.gamma)
        from mixedfx.inference.varpar import VarianceParameters

        return VarianceParameters(self)

    @cached_property
    def kenward_roger(self) -> KenwardRoger:
        """Kenward–Roger's adjusted covariance and its parts, computed once per fit.

        For a weighted fit, pbkrtest's (and lmerTest's): V from the unweighted rows, Φ the
        weighted vcov (`mixedfx.inference.kenward_roger`), with a `WeightsWarning`.
        """
        from mixedfx.inference.kenward_roger import compute_kenward_roger

        if self.design.weights is None:
            return compute_kenward_roger(self)
        warnings.warn(
            "Kenward-Roger on a weighted fit follows pbkrtest, which leaves the prior weights "
            "out of the marginal covariance V (its df and standard errors change when all "
            "weights are multiplied by a constant); prefer Satterthwaite's df",
            WeightsWarning,
            stacklevel=3,
        )
        return compute_kenward_roger(self)

    # -- fitted values and prediction ------------------------------------------------------

    @cached_property
    def fitted(self) -> np.ndarray:
        """Fitted values Xβ̂ + Zb̂ + offset over the rows used; shape (n,)."""
        out = self.design.linear_predictor(self.estimate.beta, self.estimate.solution.b)
        out.setflags(write=False)
        return out

    @property
    def _population_fitted(self) -> np.ndarray:
        """Xβ̂ + offset over the rows used; shape (n,)."""
        return self.design.linear_predictor(self.estimate.beta, None)

    @property
    def residuals(self) -> np.ndarray:
        """Response minus fitted values; shape (n,)."""
        return self.design.y - self.fitted

    @property
    def pearson_residuals(self) -> np.ndarray:
        """√wᵢ (yᵢ − fitted) / δ_s(i), shape (n,): lme4's ``residuals(m, type = "pearson")``,
        the residuals on the scale of the common variance σ² (the response residuals without
        weights or a dispersion formula; δ_s is the stratum's residual SD over σ)."""
        scale = self.design.sqrt_weights
        if self.dispersion is not None:
            scale = (1.0 if scale is None else scale) / self.dispersion.row_ratios
        return self.residuals if scale is None else scale * self.residuals

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        *,
        include_random: bool = True,
        allow_new_levels: bool = False,
    ) -> np.ndarray:
        """Predictions for new data, encoded with the training encoding.

        Parameters
        ----------
        newdata
            Rows to predict; None for the fitted rows.
        include_random
            Add the conditional modes of the rows' levels (lme4's ``re.form = NULL``); when
            False, the population-level prediction Xβ̂ (``re.form = NA``).
        allow_new_levels
            Predict levels not seen in fitting at the population level (random effect 0)
            instead of raising `NewLevelError`.

        Returns
        -------
        ndarray
            Shape (m,); NaN where a needed value of `newdata` is missing.
        """
        if newdata is None:
            return self.fitted.copy() if include_random else self._population_fitted
        rows, complete = prediction_rows(
            self.formula, self.frame, newdata, include_random=include_random
        )
        out = np.full(len(complete), np.nan)
        out[complete] = self.design.fixed.matrix(rows) @ self.estimate.beta
        out[complete] += self.design.offset.on(rows)
        if include_random:
            for term, b in zip(self.design.terms, self.estimate.solution.b):
                out[complete] += term.contribution(rows, b, allow_new_levels)
        return out

    # -- presentation -----------------------------------------------------------------------

    def summary(self, ddf: DDF = "satterthwaite") -> LmerSummary:
        """lme4/lmerTest-style summary: ``str()`` gives the text, its parts are DataFrames.

        Parameters
        ----------
        ddf
            Degrees of freedom of the fixed-effects t tests, as `coef_table`; None prints
            lme4's table without df and p-values.
        """
        from mixedfx.report.summary import LmerSummary

        return LmerSummary.of(self, ddf)

    def to_dict(self) -> dict[str, object]:
        """The results as a JSON-ready document (see `mixedfx.report.document`)."""
        from mixedfx.report.document import lmer_document

        return lmer_document(self)

    def coef_table(self, ddf: DDF = "satterthwaite") -> pd.DataFrame:
        """Fixed effects with standard errors, df, t statistics and p-values.

        Parameters
        ----------
        ddf
            Denominator degrees of freedom: ``"satterthwaite"`` (default, as lmerTest),
            ``"kenward-roger"`` (REML fits), ``"residual"`` (n − p), or None for z tests.

        Returns
        -------
        DataFrame
            Indexed by coefficient; columns ``estimate``, ``std_error``, ``df``,
            ``statistic``, ``p_value``.
        """
        from mixedfx.inference.tables import coef_table

        return coef_table(self, ddf)

    def anova(self, ddf: DDF = "satterthwaite", type: int = 3) -> pd.DataFrame:
        """F tests of the fixed-effects terms, as lmerTest's ``anova(m, type, ddf)``."""
        from mixedfx.inference.tables import anova_table

        return anova_table(self, ddf, type)

    def vcov_kr(self) -> pd.DataFrame:
        """Kenward–Roger's adjusted covariance matrix of β̂ (REML fits), as pbkrtest's vcovAdj."""
        names = list(self.fixef_names)
        return pd.DataFrame(self.kenward_roger.PhiA, index=names, columns=names)

    def confint(
        self,
        method: Method = "profile",
        level: float = 0.95,
        *,
        nsim: int = 1000,
        seed: int | None = None,
        n_jobs: int = 1,
    ) -> pd.DataFrame:
        """Confidence intervals, lme4's ``confint(m, method = ...)``.

        Parameters
        ----------
        method
            ``"wald"`` (fixed effects, normal quantiles), ``"profile"`` (likelihood profile;
            variance parameters too) or ``"bootstrap"`` (parametric, percentile).
        level
            Coverage probability.
        nsim, seed, n_jobs
            Replicates, seed and worker processes of the bootstrap.

        Returns
        -------
        DataFrame
            Columns ``lower`` and ``upper``, indexed by parameter: ``sd(<coef>|<group>)``,
            ``cor(<coef1>,<coef2>|<group>)``, ``sigma`` and the fixed effects.

        Warns
        -----
        InterruptedBootstrapWarning
            When a bootstrap is interrupted (Ctrl-C): the intervals come from the replicates
            completed, and the warning says how many.
        """
        from mixedfx.inference.confint import confidence_intervals

        return confidence_intervals(self, method, level, nsim=nsim, seed=seed, n_jobs=n_jobs)

    def profile(self, level: float = 0.99) -> dict[str, Profile]:
        """Likelihood profiles ζ of every parameter over its `level` profile interval."""
        from mixedfx.inference.profile import profiles

        return profiles(self, level)

    def refit_simulated(self, rng: np.random.Generator) -> tuple[MixedEstimate, np.ndarray]:
        """The model refitted, from its estimates, to one response simulated from it in the
        space of the cross-products (the parametric bootstrap's replicate); with a residual
        SD per stratum, the strata's refitted too, and the other strata's SDs returned
        (shape (S − 1,); empty without strata).

        Raises
        ------
        UnsupportedError
            With a numeric dispersion variable, whose simulation needs the rows.
        """
        if self.dispersion is None:
            return self.estimate.refit(self._simulator.draw(rng)), np.zeros(0)
        if not isinstance(self.dispersion.reweighting, StrataDispersion):
            raise UnsupportedError(
                "the parametric bootstrap of a numeric dispersion variable is not available "
                "yet; Satterthwaite's df, residual_sd_intervals() and mixedfx.anova are"
            )
        estimate, dispersion = self._fit_strata(self._strata_simulator.draw(rng))
        return estimate, estimate.sigma * dispersion.ratios.to_numpy()[1:]

    @property
    def strata_products(self) -> tuple[CrossProducts, ...] | None:
        """The cross-products of each stratum of the dispersion formula, or None."""
        if self.dispersion is None or not isinstance(self.dispersion.reweighting, StrataDispersion):
            return None
        return self.dispersion.reweighting.strata.parts

    def refit_strata(self, parts: tuple[CrossProducts, ...]) -> MixedEstimate:
        """The model refitted, from its estimates, to these strata's cross-products (a
        simulated response), by its criterion."""
        return self._fit_strata(parts)[0]

    def _fit_strata(self, parts: tuple[CrossProducts, ...]) -> tuple[MixedEstimate, DispersionFit]:
        assert self.dispersion is not None
        reweighting = self.dispersion.reweighting
        assert isinstance(reweighting, StrataDispersion)
        start = np.concatenate([self.theta, self.dispersion.gamma])
        return fit_dispersion(
            replace(reweighting, strata=Strata(parts)),
            self.dispersion.design,
            self.criterion,
            self.optinfo.options,
            start,
        )

    @cached_property
    def _simulator(self) -> ResponseSimulator:
        """Draws of the response's cross-products from the fit."""
        from mixedfx.inference.simulation import ResponseSimulator

        templates = self.layout.templates(self.theta)
        return ResponseSimulator.of(self.A, self.estimate.beta, self.sigma, templates)

    @cached_property
    def _strata_simulator(self) -> StratifiedSimulator:
        """Draws of each stratum's cross-products from a fit with a residual SD per stratum."""
        from mixedfx.inference.simulation import StratifiedSimulator

        assert self.dispersion is not None
        reweighting = self.dispersion.reweighting
        assert isinstance(reweighting, StrataDispersion)
        return StratifiedSimulator.of(
            reweighting.strata.parts,
            self.estimate.beta,
            self.sigma,
            self.dispersion.ratios.to_numpy(),
            self.layout.templates(self.theta),
        )

    def simulate(self, nsim: int = 1, seed: int | None = None) -> np.ndarray:
        """Responses drawn from the fitted model, shape (n, nsim) (lme4's ``simulate``):
        y* = offset + Xβ̂ + Zb* + ε*, b* ~ N(0, σ̂²ΛΛᵀ), ε*ᵢ ~ N(0, σ̂²δ²_s(i)/wᵢ) (δ = 1
        without a dispersion formula), new random effects in each draw, draw i from its own
        stream spawned from `seed`."""
        from mixedfx.inference.simulation import draw_random_effects

        templates = self.layout.templates(self.theta)
        nlevels = self.A.structure.nlevels
        noise_sd = self.sigma / np.sqrt(self.weights)
        if self.dispersion is not None:
            noise_sd = noise_sd * self.dispersion.row_ratios
        draws = []
        for stream in np.random.SeedSequence(seed).spawn(nsim):
            rng = np.random.default_rng(stream)
            b = draw_random_effects(templates, self.sigma, nlevels, rng)
            noise = noise_sd * rng.standard_normal(self.nobs)
            draws.append(self.design.linear_predictor(self.estimate.beta, b) + noise)
        return np.column_stack(draws)

    def fixed_terms(self) -> list[FixedTerm]:
        """The fixed-effects terms other than the intercept, from the encodings."""
        return fixed_terms(self.design.fixed)

    def full_coding(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """The over-parameterized dummy coding as X L: L (p × c) and the c names."""
        return full_coding(self.design.fixed)

    def contrast(self, L: np.ndarray, ddf: DDF = "satterthwaite") -> ContrastTest:
        """Test the linear hypothesis Lβ = 0; L of shape (q, p) or (p,)."""
        from mixedfx.inference.ftest import contrast_test

        return contrast_test(self, L, ddf)

    def __repr__(self) -> str:
        return (
            f"<LinearMixedModel {self.formula.text!r} by {self.criterion.name}: "
            f"nobs={self.nobs}, objective={self.objective:.4f}, "
            f"evaluations={self.optinfo.evaluations}>"
        )
