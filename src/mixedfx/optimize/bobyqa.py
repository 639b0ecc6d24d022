"""BOBYQA (NLopt), lme4's derivative-free optimizer: the method by choice, the finisher of
gradient runs that stop abnormally, and the minimizer of functions without a gradient."""

from __future__ import annotations

import math
from collections.abc import Callable

import nlopt
import numpy as np

from mixedfx.optimize.options import OptimizerOptions, OptSummary

_RESULTS = {
    nlopt.SUCCESS: "success",
    nlopt.STOPVAL_REACHED: "stopval reached",
    nlopt.FTOL_REACHED: "ftol reached",
    nlopt.XTOL_REACHED: "xtol reached",
    nlopt.MAXEVAL_REACHED: "maximum number of evaluations reached",
    nlopt.MAXTIME_REACHED: "maximum time reached",
}


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
