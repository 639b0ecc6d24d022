"""Stage 6, optimize: minimize the profiled deviance over θ with BOBYQA (NLopt).

BOBYQA is what lme4 (``nloptwrap``) and MixedModels.jl use by default: derivative-free,
bound-constrained, and economical in evaluations for the few parameters θ has.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import nlopt
import numpy as np

_RESULTS = {
    nlopt.SUCCESS: "success",
    nlopt.STOPVAL_REACHED: "stopval reached",
    nlopt.FTOL_REACHED: "ftol reached",
    nlopt.XTOL_REACHED: "xtol reached",
    nlopt.MAXEVAL_REACHED: "maximum number of evaluations reached",
    nlopt.MAXTIME_REACHED: "maximum time reached",
}


@dataclass(frozen=True, kw_only=True)
class OptimizerOptions:
    """Stopping rules: lme4's ``nloptwrap`` rules, with a tighter ``ftol_abs``.

    From the moment-based start the optimizer reaches the optimum's neighbourhood sooner, and
    lme4's ftol_abs = 1e-8 can then stop it while θ is still 1e-4 (relative) away; 1e-10
    keeps estimates as precise as lme4's printed digits for a few more evaluations.

    Attributes
    ----------
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
        from moment estimates near the optimum (`mixedfx.start`), where a small first step
        saves evaluations: on the reference cases fewer than lme4 needs from its identity
        start with NLopt's default step.
    """

    ftol_abs: float = 1e-10
    xtol_abs: float = 1e-8
    xtol_rel: float = 1e-6
    maxeval: int = 100_000
    initial_step: float | None = 0.1


@dataclass(frozen=True)
class OptSummary:
    """What the optimizer did.

    Attributes
    ----------
    initial, final
        θ at the start and at the optimum.
    fmin
        The objective at `final`.
    evaluations
        Number of objective evaluations.
    converged
        True when a stopping tolerance, not an evaluation limit or failure, ended the run.
    message
        NLopt's reason for stopping.
    """

    algorithm: str
    initial: np.ndarray
    final: np.ndarray
    fmin: float
    evaluations: int
    converged: bool
    message: str
    options: OptimizerOptions = field(default_factory=OptimizerOptions)


def bobyqa(
    objective: Callable[[np.ndarray], float],
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
) -> OptSummary:
    """Minimize `objective` from `theta0` subject to θ ≥ `lower` (entries may be -inf)."""
    count = 0
    best = (math.inf, np.array(theta0, dtype=float))

    def wrapped(x: np.ndarray, grad: np.ndarray) -> float:
        nonlocal count, best
        count += 1
        value = float(objective(x))
        if value < best[0]:
            best = (value, x.copy())
        return value

    opt = nlopt.opt(nlopt.LN_BOBYQA, len(theta0))
    opt.set_min_objective(wrapped)
    opt.set_lower_bounds(lower)
    opt.set_ftol_abs(options.ftol_abs)
    opt.set_xtol_abs(options.xtol_abs)
    opt.set_xtol_rel(options.xtol_rel)
    opt.set_maxeval(options.maxeval)
    if options.initial_step is not None:
        opt.set_initial_step(options.initial_step)
    try:
        opt.optimize(np.asarray(theta0, dtype=float))
        code = opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        code = nlopt.FAILURE  # best point so far is still a valid answer; reported as such
    converged = code in (nlopt.SUCCESS, nlopt.FTOL_REACHED, nlopt.XTOL_REACHED)
    message = _RESULTS.get(code, f"NLopt stopped with code {code} (round-off limited)")
    return OptSummary(
        "NLOPT_LN_BOBYQA",
        np.array(theta0, dtype=float),
        best[1],
        best[0],
        count,
        converged,
        message,
        options,
    )
