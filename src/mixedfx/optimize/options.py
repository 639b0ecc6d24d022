"""The optimizer's options and record, and what it minimizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np


@dataclass(frozen=True, kw_only=True)
class OptimizerOptions:
    """The method and its stopping rules.

    L-BFGS-B stops when the objective is predicted to lie within `predicted_decrease` of its
    minimum: ½ ‖g‖² / h with g the gradient (coordinates held at a bound left out) and h
    the curvature along the last step, sᵀy / sᵀs (Barzilai–Borwein).  A rule on the
    gradient alone would depend on the data's scale; one on the change in the objective stops
    too late on large data, whose deviance is only accurate to about 1e-14 of its size, so
    the line search then fails on rounding noise.

    BOBYQA follows lme4's ``nloptwrap`` rules, with a tighter ``ftol_abs``.

    From the moment-based start the optimizer reaches the optimum's neighbourhood sooner, and
    lme4's ftol_abs = 1e-8 can then stop it while θ is still 1e-4 (relative) away; 1e-10
    keeps estimates as precise as lme4's printed digits for a few more evaluations.

    Attributes
    ----------
    method
        "lbfgsb" (default) or "bobyqa" (lme4's choice, derivative-free).
    predicted_decrease
        L-BFGS-B's stopping rule, in units of the objective (−2 log-likelihood).
    ftol_abs, xtol_abs
        Stop when an iteration changes the objective, or every θ entry, by less.
    xtol_rel
        Stop when every θ entry changes by less than this fraction.  R's nloptr default
        (1e-4, which lme4 leaves in force) stops badly scaled problems early, e.g. a random
        slope of an uncentred covariate, whose θ entry is 1e-3 of the intercept's: lme4 ends
        0.05 above the optimum of ``angle ~ temp + (temp | replicate)`` on cake.
    maxeval
        Most objective evaluations allowed.
    initial_step
        BOBYQA's first trust-region radius in θ units; None for NLopt's default.  Fits start
        from moment estimates near the optimum (`mixedfx.pls.start`), where a small first step
        saves evaluations: on the reference cases fewer than lme4 needs from its identity
        start with NLopt's default step.  Like BOBYQA's other tolerances, in the units of
        `minimize_theta` (θ relative to its start where that exceeds 1).
    verify_decrease
        A run ended by a rule that does not certify an optimum (BOBYQA's tolerances, an
        L-BFGS-B run that stalls) is accepted only if the gradient and Hessian at its end
        predict a decrease below this (`verify_stationary`); lme4's ``checkConv`` tolerance
        on the Hessian-scaled gradient, 2e-3, allows about 2e-6.
    """

    method: Literal["lbfgsb", "bobyqa"] = "lbfgsb"
    predicted_decrease: float = 1e-11
    ftol_abs: float = 1e-10
    xtol_abs: float = 1e-8
    xtol_rel: float = 1e-6
    maxeval: int = 100_000
    initial_step: float | None = 0.1
    verify_decrease: float = 1e-6


@dataclass(frozen=True)
class OptSummary:
    """What the optimizer did.

    Attributes
    ----------
    algorithm
        The method that ran (both, when BOBYQA finished an L-BFGS-B run).
    initial, final
        θ at the start and at the optimum.
    fmin
        The objective at `final`.
    evaluations
        Number of objective evaluations.
    converged
        True when a stopping tolerance, not an evaluation limit or failure, ended the run.
    message
        The optimizer's reason for stopping.
    """

    algorithm: str
    initial: np.ndarray
    final: np.ndarray
    fmin: float
    evaluations: int
    converged: bool
    message: str
    options: OptimizerOptions = field(default_factory=OptimizerOptions)


class Differentiable(Protocol):
    """An objective with its gradient (`mixedfx.pls.deviance.ProfiledDeviance`, or a likelihood
    profile's `mixedfx.inference.restricted.Restricted`)."""

    @property
    def blas_threads(self) -> int | None:
        """Threads for the BLAS calls of an evaluation (None: the library's default)."""
        ...

    def __call__(self, theta: np.ndarray, /) -> float: ...

    def flat_bounds(self, theta: np.ndarray, /) -> np.ndarray:
        """Shape (nθ,), bool: entries at a bound where the gradient is zero by symmetry."""
        ...

    def scale(self, theta: np.ndarray, /) -> np.ndarray:
        """Shape (nθ,), positive: the natural size of each entry near θ (the optimizer's unit)."""
        ...

    def value_and_gradient(self, theta: np.ndarray, /) -> tuple[float, np.ndarray]: ...


Method = Callable[[Differentiable, np.ndarray, np.ndarray, OptimizerOptions], OptSummary]
