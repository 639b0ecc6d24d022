"""Stage 6, optimize: minimize the profiled deviance over θ.

The default is L-BFGS-B (SciPy) with the exact gradient of `mixedfx.pls.gradient`: bound
constraints keep variances non-negative, and each iteration uses the slope in every
direction at the cost of about two evaluations, where a derivative-free method must probe
each direction by itself (benchmarks/README.md compares the counts with lme4's BOBYQA).
BOBYQA remains available, finishes any L-BFGS-B run that stops abnormally, and minimizes
functions without a gradient (profiles).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

from mixedfx.optimize.bfgs import bfgs
from mixedfx.optimize.bobyqa import bobyqa
from mixedfx.optimize.lbfgsb import lbfgsb
from mixedfx.optimize.options import Differentiable, Method, OptimizerOptions, OptSummary
from mixedfx.optimize.verify import verify_stationary
from mixedfx.pls.threads import blas_limit

# The stopping messages that certify a first-order optimum by themselves: the predicted
# decrease of L-BFGS-B's and BFGS's rule, and probes off flat bounds finding nothing lower.
CERTIFIED = frozenset({"predicted decrease below tolerance", "no lower point off the bounds"})
# Restarts off flat bounds before the best run is taken as it is.
MAX_RESTARTS = 3
# A flat-bound entry is probed at these fractions of its start (at least `MIN_PROBE`).
PROBE_FRACTIONS = (0.01, 1.0)
MIN_PROBE = 1e-3


def minimize_theta(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    hessian: np.ndarray | None = None,
) -> OptSummary:
    """Minimize the profiled deviance from `theta0` subject to θ ≥ `lower`, by `options.method`.

    The gradient methods, and BOBYQA where it finishes their runs, work in units x = θ / s,
    s = `objective.scale(theta0)` (`Rescaled`), so that each entry moves by steps of its own
    size, whatever the units of its covariate or the
    ratio of a random effect's variance to the residual's: in θ units, a trust region of
    0.1 or L-BFGS-B's first unit step would change the objective by less than its rounding
    where θ is 1e4 (a residual variance small beside a random effect's), and by far too much
    where it is 1e-12 (a slope on a covariate in units of 1e12).  BOBYQA chosen as the method
    works in θ's units, as lme4's.

    With `hessian`, the objective's Hessian near `theta0` (a refit to a new response starts
    at the fit's θ̂ with the Hessian there), BFGS starts from it and converges in a few
    steps; L-BFGS-B takes over if it reaches a bound.  BOBYQA finishes an L-BFGS-B run that
    stops abnormally.  A gradient method that ends with a variance at zero (its template
    column zero) is restarted off that bound when the objective is lower there
    (`_off_flat_bounds`): at such a point the gradient is zero by symmetry, even where the
    point is a maximum along the variance.  A run that ends without a first-order
    certificate of its own (BOBYQA's tolerances, or L-BFGS-B stalling) counts as converged
    only if the gradient and Hessian there predict no decrease (`verify_stationary`).
    """
    theta0 = np.asarray(theta0, dtype=float)
    lme4 = options.method == "bobyqa"
    scale = np.ones_like(theta0) if lme4 else objective.scale(theta0)
    scaled = Rescaled(objective, scale)
    x0, x_lower = theta0 / scale, np.asarray(lower, dtype=float) / scale
    with blas_limit(objective.blas_threads):
        if lme4:
            runs = [bobyqa(scaled, x0, x_lower, options)]
        else:
            runs = _gradient_runs(scaled, x0, x_lower, options, hessian, scale)
        result = _combined(runs)
        if result.converged and runs[-1].message not in CERTIFIED:
            result = verify_stationary(scaled, result, x_lower, options.verify_decrease)
    return replace(result, initial=result.initial * scale, final=result.final * scale)


def _gradient_runs(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    hessian: np.ndarray | None,
    scale: np.ndarray,
) -> list[OptSummary]:
    """The chain of gradient runs (BFGS or L-BFGS-B, then BOBYQA), restarted off flat bounds."""
    first: list[Method] = (
        [lbfgsb] if hessian is None else [partial(bfgs, hessian=hessian * np.outer(scale, scale))]
    )
    runs = _chain(objective, theta0, lower, options, [*first, lbfgsb, bobyqa])
    for _ in range(MAX_RESTARTS):
        best = _best(runs)
        restart = _off_flat_bounds(objective, best, theta0)
        if restart is None:
            break
        runs.append(restart)
        if restart.fmin >= best.fmin:
            break
        runs += _chain(objective, restart.final, lower, options, [lbfgsb, bobyqa])
    return runs


class Rescaled:
    """`objective` in the units x = θ / s (s = `units`): the same values, the gradient times s."""

    def __init__(self, objective: Differentiable, units: np.ndarray):
        self.objective = objective
        self.units = units

    @property
    def blas_threads(self) -> int | None:
        return self.objective.blas_threads

    def __call__(self, theta: np.ndarray) -> float:
        return self.objective(theta * self.units)

    def flat_bounds(self, theta: np.ndarray) -> np.ndarray:
        return self.objective.flat_bounds(theta * self.units)

    def scale(self, theta: np.ndarray) -> np.ndarray:
        return np.ones_like(theta)

    def value_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = self.objective.value_and_gradient(theta * self.units)
        return value, gradient * self.units


def _chain(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    methods: list[Method],
) -> list[OptSummary]:
    """Run `methods` in turn, each from the best point so far, until one converges."""
    runs: list[OptSummary] = []
    for method in methods:
        start = theta0 if not runs else _best(runs).final
        runs.append(method(objective, start, lower, options))
        if runs[-1].converged:
            break
    return runs


def _off_flat_bounds(
    objective: Differentiable, opt: OptSummary, theta0: np.ndarray
) -> OptSummary | None:
    """The best of `opt.final` with each flat-bound entry moved to 1% of, or all the way to,
    its starting value (a record of these probes, converged only if none is lower); None
    without such entries."""
    theta = opt.final
    flat = np.flatnonzero(objective.flat_bounds(theta))
    if not flat.size:
        return None
    best = (opt.fmin, theta)
    count = 0
    for i in flat:
        scale = max(abs(float(theta0[i])), MIN_PROBE)
        for value in (fraction * scale for fraction in PROBE_FRACTIONS):
            probe = theta.copy()
            probe[i] = value
            f = objective(probe)
            count += 1
            if f < best[0]:
                best = (f, probe)
    moved = best[0] < opt.fmin
    message = "lower off a flat bound: restarted" if moved else "no lower point off the bounds"
    return OptSummary(
        "probes off flat bounds", theta, best[1], best[0], count, not moved, message, opt.options
    )


def _best(runs: list[OptSummary]) -> OptSummary:
    return min(runs, key=lambda run: run.fmin)


def _combined(runs: list[OptSummary]) -> OptSummary:
    """One record of consecutive runs: the best point, all evaluations, the last verdict."""
    if len(runs) == 1:
        return runs[0]
    best = _best(runs)
    return replace(
        runs[-1],
        algorithm=", then ".join(run.algorithm for run in runs),
        initial=runs[0].initial,
        final=best.final,
        fmin=best.fmin,
        evaluations=sum(run.evaluations for run in runs),
        message="; then ".join(run.message for run in runs),
    )
