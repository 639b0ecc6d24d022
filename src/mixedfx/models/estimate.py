"""The estimates of a linear mixed model from its cross-products alone: stages 5–7 without rows.

`fit_cross_products` minimizes a criterion over θ and `MixedEstimate` holds the optimum with
everything that follows from A and the factor there: β̂, σ̂, vcov(β̂), the conditional modes
and their covariances, the criterion and the ML deviance.  A refit (the same model by ML, a
new response, an offset) is another call on other cross-products; nothing here reads a row,
so every quantity here works for data streamed past once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from mixedfx.crossprod.products import CrossProducts
from mixedfx.optimize import (
    Differentiable,
    OptimizerOptions,
    OptSummary,
    gradient_hessian,
    minimize_theta,
)
from mixedfx.pls.cholesky import BlockedCholesky, beta_covariance
from mixedfx.pls.covariance import SINGULAR_TOL, ThetaLayout
from mixedfx.pls.criterion import ML, Criterion
from mixedfx.pls.deviance import ProfiledDeviance
from mixedfx.pls.solution import Solution, conditional_covariances, solve
from mixedfx.pls.start import moment_start, refit_start


@dataclass(frozen=True)
class MixedEstimate:
    """The optimum of a criterion on cross-products A.  Immutable; derived quantities are
    computed on first use.

    Attributes
    ----------
    A
        The cross-products.
    criterion
        What was minimized (ML or REML).
    optinfo
        The optimizer's record.
    chol
        The blocked Cholesky factor at θ̂.
    """

    A: CrossProducts
    criterion: Criterion
    optinfo: OptSummary
    chol: BlockedCholesky

    @property
    def layout(self) -> ThetaLayout:
        return ThetaLayout.of(self.A.structure.ks)

    @property
    def theta(self) -> np.ndarray:
        """Relative covariance factors, lme4's order; shape (nθ,)."""
        return self.optinfo.final.copy()

    @cached_property
    def solution(self) -> Solution:
        return solve(self.chol, self.A)

    @property
    def beta(self) -> np.ndarray:
        """Shape (p,): β̂."""
        return self.solution.beta

    @property
    def sigma(self) -> float:
        """σ̂ = sqrt(r²/ν): ν = n for ML, n − p for REML."""
        return self.criterion.sigma(self.chol.pwrss, self.A.n, self.A.p)

    @cached_property
    def vcov(self) -> np.ndarray:
        """vcov(β̂) = σ̂² (L_X L_Xᵀ)⁻¹, shape (p, p)."""
        return beta_covariance(self.chol, self.sigma)

    @property
    def objective(self) -> float:
        """The minimized criterion (with the weights' term −Σ log wᵢ, as lme4's)."""
        return self.criterion.at(self.chol) - self.A.log_weights

    @property
    def deviance(self) -> float:
        """The ML deviance −2 log L at θ̂ (for a REML fit, at the REML estimates)."""
        return ML().at(self.chol) - self.A.log_weights

    @property
    def is_singular(self) -> bool:
        """True when a template diagonal is below `SINGULAR_TOL`: a variance at (or near) 0."""
        return self.layout.on_boundary(self.theta)

    @property
    def covariances(self) -> list[np.ndarray]:
        """Random-effects covariance matrix of each term (k_j × k_j), model order."""
        return self.layout.covariances(self.theta, self.sigma)

    @cached_property
    def conditional_sds(self) -> list[np.ndarray]:
        """Conditional standard deviations of the random effects, shape (ℓ_j, k_j) per term."""
        blocks = conditional_covariances(self.chol, self.A)
        return [self.sigma * np.sqrt(np.diagonal(C, axis1=1, axis2=2)) for C in blocks]

    def deviance_function(
        self, A: CrossProducts | None = None, criterion: Criterion | None = None
    ) -> ProfiledDeviance:
        """θ ↦ d(θ) of this model's structure, on the fit's cross-products and criterion or on
        others (another response, an offset; ML for a REML fit)."""
        return ProfiledDeviance(
            self.A if A is None else A, self.criterion if criterion is None else criterion
        )

    @cached_property
    def theta_hessian(self) -> np.ndarray:
        """Hessian of the objective with respect to θ at θ̂, shape (nθ, nθ): central differences
        of the exact gradient.  Refits to new responses start their quasi-Newton steps from it."""
        return gradient_hessian(self.deviance_function(), self.theta)

    def refit_start(self, A: CrossProducts) -> np.ndarray:
        """θ̂ as the start of a refit on cross-products `A` (`mixedfx.pls.start.refit_start`)."""
        return refit_start(self.theta, A, SINGULAR_TOL)

    def refit(
        self,
        A: CrossProducts | None = None,
        criterion: Criterion | None = None,
        start: np.ndarray | None = None,
    ) -> MixedEstimate:
        """The same model minimized on other cross-products and/or by another criterion, from
        `start` or θ̂ (and, for the same criterion, the Hessian there)."""
        objective = self.deviance_function(A, criterion)
        start = self.refit_start(objective.A) if start is None else start
        same = objective.criterion == self.criterion and np.array_equal(start, self.theta)
        opt = minimize_theta(
            objective,
            start,
            self.layout.lower_bounds(),
            self.optinfo.options,
            self.theta_hessian if same else None,
        )
        return optimum(objective, opt)


def fit_cross_products(
    A: CrossProducts, criterion: Criterion, options: OptimizerOptions
) -> MixedEstimate:
    """Minimize `criterion` over θ from the moment start (`fit_theta`)."""
    objective = ProfiledDeviance(A, criterion)
    return optimum(objective, fit_theta(objective, moment_start(A), options))


def optimum(objective: ProfiledDeviance, opt: OptSummary) -> MixedEstimate:
    """The estimate at the optimizer's result.

    Raises
    ------
    FloatingPointError
        When the criterion cannot be evaluated there (M not positive definite), which no
        finite optimum allows.
    """
    chol = objective.factor(opt.final)
    if chol is None:
        raise FloatingPointError(f"the model cannot be evaluated at θ = {opt.final}")
    return MixedEstimate(objective.A, objective.criterion, opt, chol)


def fit_theta(
    objective: ProfiledDeviance, theta0: np.ndarray, options: OptimizerOptions
) -> OptSummary:
    """θ̂ from `theta0`; for a boundary (singular) result also from lme4's start.

    On the boundary the profiled deviance often has several local minima (a rank-deficient
    covariance can lie along different directions, most of all with uncentred covariates), and
    a gradient method keeps to the basin it starts in.  The second run, from the identity
    templates lme4 starts from, keeps the answer at least as low as lme4's in such cases.
    """
    layout = objective.layout
    return best_of_starts(
        objective, theta0, layout.lower_bounds(), options, layout.on_boundary, layout.initial()
    )


def best_of_starts(
    objective: Differentiable,
    x0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    on_boundary: Callable[[np.ndarray], bool],
    second: np.ndarray,
) -> OptSummary:
    """The optimum from `x0`, and where it is `on_boundary` the better of it and the optimum
    from the `second` start (`fit_theta`)."""
    first = minimize_theta(objective, x0, lower, options)
    if options.method == "bobyqa" or not on_boundary(first.final):
        return first
    other = minimize_theta(objective, second, lower, options)
    best = first if first.fmin <= other.fmin else other
    return replace(
        best,
        initial=first.initial,
        evaluations=first.evaluations + other.evaluations,
        message=f"{best.message}; best of the moment and identity starts (a boundary fit)",
    )
