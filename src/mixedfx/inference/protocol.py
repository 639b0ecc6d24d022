"""What inference needs of a fitted model: the protocol every result class offers.

Inference (tests, intervals, comparisons, bootstrap) works on these protocols and imports
no result class, so a new model family gets the inference its estimates support by offering
the same attributes.  `LikelihoodFit` is what a likelihood comparison needs of any fit,
`lm`'s included; `MixedFit` is what the mixed-model inference needs: estimates, the
criterion at any θ and on any cross-products, refits without the rows, and the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeGuard

import numpy as np
import pandas as pd

from mixedfx.crossprod.products import CrossProducts
from mixedfx.errors import UnsupportedError
from mixedfx.optimize import OptSummary
from mixedfx.pls.cholesky import BlockedCholesky
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import Criterion
from mixedfx.pls.deviance import ProfiledDeviance


class LikelihoodFit(Protocol):
    """A fit with a likelihood: what `anova` and `compare` set side by side."""

    @property
    def method(self) -> str:
        """How it was fitted: ``"OLS"``, ``"ML"`` or ``"REML"``."""
        ...

    @property
    def nobs(self) -> int: ...

    @property
    def npar(self) -> int:
        """Parameters counted by AIC and the likelihood-ratio test's df."""
        ...

    @property
    def loglik(self) -> float:
        """The maximized log-likelihood (of the REML criterion for a REML fit)."""
        ...

    @property
    def aic(self) -> float: ...

    @property
    def bic(self) -> float: ...

    @property
    def fixef_names(self) -> tuple[str, ...]: ...

    @property
    def response_digest(self) -> str:
        """A fingerprint of the response: equal for fits to the same rows."""
        ...

    @property
    def residuals(self) -> np.ndarray:
        """Row-level residuals (a pass over the rows)."""
        ...


class OlsFit(LikelihoodFit, Protocol):
    """An ordinary least-squares fit, as R's ``anova.lm`` compares them."""

    @property
    def df_resid(self) -> int: ...

    @property
    def rss(self) -> float: ...

    @property
    def sigma(self) -> float: ...

    @property
    def r_squared(self) -> float: ...


class MixedFit(LikelihoodFit, Protocol):
    """A fitted linear mixed model, as inference sees it.

    Everything here comes from the cross-products and the encodings' names, except
    `residuals` (row level).
    """

    @property
    def A(self) -> CrossProducts: ...

    @property
    def unweighted_A(self) -> CrossProducts:
        """The cross-products of the rows without their prior weights (`A` itself for an
        unweighted fit): pbkrtest's Kenward–Roger and performance's R² leave the weights out."""
        ...

    @property
    def criterion(self) -> Criterion: ...

    @property
    def layout(self) -> ThetaLayout: ...

    @property
    def theta(self) -> np.ndarray: ...

    @property
    def sigma(self) -> float: ...

    @property
    def fixef(self) -> pd.Series: ...

    @property
    def vcov(self) -> pd.DataFrame: ...

    @property
    def objective(self) -> float: ...

    @property
    def deviance(self) -> float:
        """The ML deviance −2 log L at the estimates."""
        ...

    @property
    def chol(self) -> BlockedCholesky:
        """The blocked Cholesky factor at θ̂ (Satterthwaite's and Kenward–Roger's products)."""
        ...

    @property
    def estimate(self) -> Estimate:
        """The row-free estimate, which refits to other cross-products."""
        ...

    @property
    def variance_parameters(self) -> VarianceDerivatives:
        """Derivatives in (θ, σ) for Satterthwaite's df, computed once per fit."""
        ...

    @property
    def kenward_roger(self) -> AdjustedCovariance:
        """Kenward–Roger's adjusted covariance and its parts, computed once per fit."""
        ...

    @property
    def optinfo(self) -> OptSummary: ...

    @property
    def covariances(self) -> list[np.ndarray]: ...

    @property
    def residual_variance(self) -> float:
        """The residual variance at weight 1 (σ², or the rows' mean with a dispersion
        formula)."""
        ...

    @property
    def dispersion_formula(self) -> str | None:
        """The formula of a residual SD per stratum of rows, or None for one residual SD."""
        ...

    @property
    def dispersion_strata(self) -> pd.Series | None:
        """The residual SD of each stratum (the reference first), or None without strata."""
        ...

    @property
    def strata_products(self) -> tuple[CrossProducts, ...] | None:
        """The cross-products of each stratum of a residual SD per stratum, or None."""
        ...

    def refit_strata(self, parts: tuple[CrossProducts, ...]) -> Estimate:
        """The model with a residual SD per stratum refitted, from its estimates, to these
        strata's cross-products (a simulated response), by its criterion."""
        ...

    def refit_simulated(self, rng: np.random.Generator) -> tuple[Estimate, np.ndarray]:
        """The model refitted, from its estimates, to one response simulated from it in the
        space of the cross-products; and the other strata's residual SDs (shape (S − 1,),
        empty without strata)."""
        ...

    @property
    def group_names(self) -> tuple[str, ...]:
        """lme4's label of each term's grouping factor (``Subject``, ``Subject.1``)."""
        ...

    @property
    def term_names(self) -> tuple[tuple[str, ...], ...]:
        """Each term's coefficient names, model order."""
        ...

    @property
    def theta_hessian(self) -> np.ndarray: ...

    def deviance_function(
        self, A: CrossProducts | None = None, criterion: Criterion | None = None
    ) -> ProfiledDeviance:
        """θ ↦ d(θ) on the fit's (or other) cross-products, by its (or another) criterion."""
        ...

    def refit_start(self, A: CrossProducts) -> np.ndarray: ...

    def refit(
        self, criterion: Criterion | None = None, start: np.ndarray | None = None
    ) -> MixedFit:
        """The same model by another criterion or from another start, without the rows."""
        ...

    def fixed_terms(self) -> Sequence[FixedTerm]:
        """The fixed-effects terms (intercept left out), for F tests per term."""
        ...

    def full_coding(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """(L, names): the over-parameterized dummy coding is X L, L of shape (p, c), with
        its c column names; type III contrasts start from it."""
        ...


class VarianceDerivatives(Protocol):
    """What Satterthwaite's df read (`mixedfx.inference.varpar.VarianceParameters`)."""

    @property
    def vcov(self) -> np.ndarray:
        """vcov(β̂), shape (p, p)."""
        ...

    @property
    def vcov_gradient(self) -> np.ndarray:
        """∂vcov(β̂)/∂(θ, σ), shape (nθ + 1, p, p)."""
        ...

    @property
    def covariance(self) -> np.ndarray:
        """Asymptotic covariance of (θ, σ), shape (nθ + 1, nθ + 1)."""
        ...


class AdjustedCovariance(Protocol):
    """What Kenward–Roger's tests read (`mixedfx.inference.kenward_roger.KenwardRoger`)."""

    @property
    def Phi(self) -> np.ndarray: ...

    @property
    def P(self) -> np.ndarray: ...

    @property
    def Omega(self) -> np.ndarray:
        """The covariance parameters' asymptotic covariance, 2 I⁻¹."""
        ...

    @property
    def PhiA(self) -> np.ndarray: ...


class FixedTerm(Protocol):
    """A fixed-effects term: its name, its factors and continuous variables, its columns
    in X (`mixedfx.data.fixed_terms.FixedTerm`)."""

    @property
    def name(self) -> str: ...

    @property
    def factors(self) -> frozenset[str]: ...

    @property
    def continuous(self) -> frozenset[str]: ...

    @property
    def columns(self) -> tuple[int, ...]: ...


class Estimate(Protocol):
    """The row-free part of a mixed fit (`mixedfx.models.estimate.MixedEstimate`)."""

    @property
    def beta(self) -> np.ndarray: ...

    @property
    def sigma(self) -> float: ...

    @property
    def objective(self) -> float: ...

    @property
    def covariances(self) -> list[np.ndarray]: ...

    def refit(
        self,
        A: CrossProducts | None = None,
        criterion: Criterion | None = None,
        start: np.ndarray | None = None,
    ) -> Estimate:
        """The model minimized on other cross-products (a new response), from θ̂."""
        ...


def is_ols(fit: object) -> TypeGuard[OlsFit]:
    """Whether `fit` is an ordinary least-squares fit."""
    return getattr(fit, "method", None) == "OLS"


def is_mixed(fit: object) -> TypeGuard[MixedFit]:
    """Whether `fit` is a mixed model's fit (its class has a criterion and θ), without
    evaluating any of its properties."""
    cls = type(fit)
    return hasattr(cls, "criterion") and hasattr(cls, "theta")


def require_one_residual_sd(fit: MixedFit, what: str) -> None:
    """Raise `UnsupportedError` for a fit with a residual SD per stratum, which `what`
    (profiles, the bootstrap likelihood-ratio test, Kenward–Roger) does not handle yet: each
    would hold the variance ratios fixed or simulate with one residual SD."""
    if fit.dispersion_formula is not None:
        raise UnsupportedError(
            f"{what} is not available for a fit with dispformula={fit.dispersion_formula!r} "
            "yet; Wald and bootstrap intervals, Satterthwaite's df, residual_sd_intervals() "
            "and the likelihood-ratio test (mixedfx.anova) are"
        )
