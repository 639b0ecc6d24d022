"""Stage 6, optimize: minimize the profiled deviance over θ.

The default is L-BFGS-B (SciPy) with the exact gradient of `mixedfx.pls.gradient`: bound
constraints keep variances non-negative, and each iteration uses the slope in every
direction at the cost of about two evaluations, where a derivative-free method must probe
each direction by itself.  On the reference cases it needs 2–13 evaluations where lme4's
BOBYQA (derivative-free, ``nloptwrap``, also MixedModels.jl's default) needs 10–78.
BOBYQA remains available, finishes any L-BFGS-B run that stops abnormally, and minimizes
functions without a gradient (profiles).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal, Protocol

import nlopt
import numpy as np
from scipy.optimize import OptimizeResult, minimize

from mixedfx.pls.threads import blas_limit

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


# The stopping messages that certify a first-order optimum by themselves: the predicted
# decrease of L-BFGS-B's and BFGS's rule, and probes off flat bounds finding nothing lower.
CERTIFIED = frozenset({"predicted decrease below tolerance", "no lower point off the bounds"})


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


def verify_stationary(
    objective: Differentiable, opt: OptSummary, lower: np.ndarray, tolerance: float
) -> OptSummary:
    """`opt` with its verdict checked at `opt.final` by the gradient g and the Hessian H.

    Entries at their bound with g ≥ 0, or flat there (`Differentiable.flat_bounds`), are held;
    over the others the predicted decrease ½ gᵀH⁻¹g must be below `tolerance`, or below the
    objective's rounding error where that is larger (then no point can be told apart from the
    optimum), and H must be positive definite (else the point is a saddle, or the model is
    not identifiable there).  lme4 checks its BOBYQA results in the same way (``checkConv``:
    the gradient scaled by the Hessian's Cholesky factor).
    """
    theta = opt.final
    f, g = objective.value_and_gradient(theta)
    held = (theta <= lower) & ((g >= 0) | objective.flat_bounds(theta))
    free = np.flatnonzero(~held)
    count, verdict = 1, CONFIRMED
    if free.size:
        H, sums = _differences(objective, theta)
        # what is left of f(θ+h) + f(θ−h) − h²H − 2f(θ) is the rounding of four values
        rounding = float(np.max(np.abs(sums - 2 * f))) / 4
        count += 2 * theta.size
        verdict = _verdict(H[np.ix_(free, free)], g[free], max(tolerance, rounding))
        if verdict == CONFIRMED and rounding > tolerance:
            verdict += f" to the objective's rounding ({rounding:.1g})"
    return replace(
        opt,
        evaluations=opt.evaluations + count,
        converged=verdict.startswith(CONFIRMED) and bool(np.isfinite(f)),
        message=f"{opt.message}; {verdict}",
    )


CONFIRMED = "first-order optimum confirmed"


def _verdict(H: np.ndarray, g: np.ndarray, tolerance: float) -> str:
    """Whether the quadratic model (H, g) certifies a minimum to within `tolerance`.

    A direction of negative curvature is a saddle.  A direction of no curvature (up to
    rounding) with no slope is a flat valley: every point along it is as good, so the point is
    an optimum whose parameters are not all identifiable (lme4 says "nearly unidentifiable"
    and keeps the fit as converged); with a slope the objective keeps decreasing along it.
    """
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        return "the gradient or Hessian is not finite there"
    eigenvalues, vectors = np.linalg.eigh(H)
    flat = np.abs(eigenvalues) <= FLAT_CURVATURE * max(eigenvalues[-1], 0.0)
    if np.any(eigenvalues[~flat] < 0):
        return "the Hessian there is not positive definite (a saddle)"
    slopes = vectors.T @ g
    if np.any(np.abs(slopes[flat]) >= tolerance):
        return "the objective still slopes along a direction of no curvature there"
    curved = ~flat
    predicted = 0.5 * float(np.sum(slopes[curved] ** 2 / eigenvalues[curved]))
    if predicted >= tolerance:
        return f"the gradient there predicts a further decrease of {predicted:.2g}"
    if np.any(flat):
        return f"{CONFIRMED}, along a flat direction (some parameters are not identifiable there)"
    return CONFIRMED


# Curvature below this fraction of the largest counts as none: the Hessian comes from
# differences of the gradient, whose rounding (and a valley that is flat only up to rounding)
# leaves curvatures of up to about this relative size
FLAT_CURVATURE = 1e-6


MAX_RESTARTS = 3


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
        scale = max(abs(float(theta0[i])), 1e-3)
        for value in (0.01 * scale, scale):
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


Method = Callable[[Differentiable, np.ndarray, np.ndarray, OptimizerOptions], "OptSummary"]


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


def gradient_hessian(objective: Differentiable, theta: np.ndarray) -> np.ndarray:
    """The Hessian at θ by central differences of the exact gradient; shape (nθ, nθ)."""
    return _differences(objective, np.asarray(theta, dtype=float))[0]


def _differences(objective: Differentiable, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Hessian at θ by central differences of the gradient, and per coordinate i the
    sum f(θ + h e_i) + f(θ − h e_i) − h² H_ii, shape (nθ,), which equals 2 f(θ) up to terms
    of order h⁴ and the rounding of the values (`verify_stationary` reads the latter)."""
    steps = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    columns, sums = [], []
    for i, h in enumerate(steps):
        e = np.zeros_like(theta)
        e[i] = h
        f_up, up = objective.value_and_gradient(theta + e)
        f_down, down = objective.value_and_gradient(theta - e)
        columns.append((up - down) / (2 * h))
        sums.append(f_up + f_down - h * h * columns[-1][i])
    H = np.column_stack(columns)
    return (H + H.T) / 2, np.array(sums)


def bfgs(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    hessian: np.ndarray,
    max_iterations: int = 20,
) -> OptSummary:
    """Dense BFGS from a known Hessian with a backtracking (Armijo) line search.

    It stops, unconverged, when a step would cross a bound or the model of the objective
    stops predicting descent, so that L-BFGS-B, which handles bounds, takes over.  Converged
    means a predicted decrease ½ gᵀH⁻¹g below `options.predicted_decrease`.
    """
    H = np.array(hessian, dtype=float)
    theta = np.array(theta0, dtype=float)
    f, g = objective.value_and_gradient(theta)
    count, converged, message = 1, False, "iteration limit"
    for _ in range(max_iterations):
        try:
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            message = "singular Hessian"
            break
        predicted = -0.5 * float(g @ step)
        if not predicted >= 0:
            message = "no descent predicted"
            break
        if predicted < options.predicted_decrease:
            converged, message = True, "predicted decrease below tolerance"
            break
        accepted, t = None, 1.0
        while t >= 1 / 64 and np.all(theta + t * step >= lower):
            f_new, g_new = objective.value_and_gradient(theta + t * step)
            count += 1
            if f_new <= f + 1e-4 * t * float(g @ step):
                accepted = (theta + t * step, f_new, g_new)
                break
            t /= 2
        if accepted is None:
            message = "a bound or no decrease along the step"
            break
        s, y = accepted[0] - theta, accepted[2] - g
        if s @ y > 0:  # the BFGS update keeps H positive definite
            Hs = H @ s
            H += np.outer(y, y) / (y @ s) - np.outer(Hs, Hs) / (s @ Hs)
        theta, f, g = accepted
    return OptSummary(
        "BFGS from the fit's Hessian",
        np.array(theta0, dtype=float),
        theta,
        f,
        count,
        converged,
        message,
        options,
    )


def lbfgsb(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
) -> OptSummary:
    """L-BFGS-B with the exact gradient and the predicted-decrease stopping rule."""
    lower = np.asarray(lower, dtype=float)
    gradients: dict[bytes, np.ndarray] = {}
    previous: list[tuple[np.ndarray, np.ndarray, float]] = []
    best = (math.inf, np.array(theta0, dtype=float))

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal best
        value, gradient = objective.value_and_gradient(x)
        gradients[x.tobytes()] = gradient
        if value < best[0]:
            best = (value, x.copy())
        return value, gradient

    def callback(intermediate_result: OptimizeResult) -> None:
        x, f = np.array(intermediate_result.x), float(intermediate_result.fun)
        g = gradients.get(x.tobytes())
        gradients.clear()
        if g is None:  # not an evaluated point: no prediction this iteration
            return
        if previous and _converged(x, g, f, *previous[-1], lower, options.predicted_decrease):
            raise StopIteration
        previous.append((x, g, f))

    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    result = minimize(
        value_and_gradient,
        np.asarray(theta0, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=callback,
        options={"maxfun": options.maxeval, "maxls": 10, "ftol": 0.0, "gtol": 0.0},
    )
    stopped = result.status == 99  # our rule, raised from the callback
    converged = stopped or result.status == 0
    message = "predicted decrease below tolerance" if stopped else str(result.message)
    best, snapping = _snapped(objective, best, lower, options.predicted_decrease)
    return OptSummary(
        "L-BFGS-B (SciPy), exact gradient",
        np.array(theta0, dtype=float),
        best[1],
        best[0],
        int(result.nfev) + snapping,
        converged and math.isfinite(best[0]),
        message,
        options,
    )


# Entries this close to their lower bound (in the optimizer's units) are tried at the bound.
SNAP = 1e-6


def _snapped(
    objective: Differentiable, best: tuple[float, np.ndarray], lower: np.ndarray, tolerance: float
) -> tuple[tuple[float, np.ndarray], int]:
    """`best` = (f, x) with entries within `SNAP` of their bound moved onto it, if that costs
    less than `tolerance`; and the number of evaluations spent (0 or 1).

    A gradient method approaches a bound where the objective is flat (a variance whose
    optimum is zero) ever more slowly and stops just short of it; lme4's BOBYQA, and the
    singular-fit report, put such a variance at exactly zero.
    """
    f, x = best
    near = (x > lower) & (x - lower < SNAP)
    if not near.any() or not np.isfinite(f):
        return best, 0
    snapped = np.where(near, lower, x)
    f_snapped = objective(snapped)
    return ((f_snapped, snapped) if f_snapped <= f + tolerance else best), 1


def _converged(
    x: np.ndarray,
    g: np.ndarray,
    f: float,
    x0: np.ndarray,
    g0: np.ndarray,
    f0: float,
    lower: np.ndarray,
    tolerance: float,
) -> bool:
    """Whether the objective is predicted to lie within `tolerance` of its minimum.

    The prediction is ½ ‖g_free‖² / h, h a curvature seen along the last step s = x − x0
    (gradient change y = g − g0), coordinates held at a bound left out.  Of the two
    Barzilai–Borwein curvatures, sᵀy/sᵀs is the smaller, so its prediction is the safe one
    in a flat, badly conditioned valley (an intercept variance of an uncentred covariate).
    Near the optimum of a large data set, though, y is mostly rounding noise, which makes
    that curvature meaningless; there the other, yᵀy/sᵀy, together with a last step that
    gained less than the tolerance, decides.  The tolerance is never below the objective's
    own precision, about 1e-13 of its size.
    """
    s, y = x - x0, g - g0
    sy = float(s @ y)
    if sy <= 0:  # no positive curvature seen: no prediction
        return False
    tolerance = max(tolerance, 1e-13 * abs(f))
    g2 = float(np.sum(g[~((x <= lower) & (g > 0))] ** 2))
    safe = 0.5 * float(s @ s) / sy * g2
    noisy = 0.5 * sy / float(y @ y) * g2
    return safe < tolerance or (noisy < tolerance and f0 - f < tolerance)


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
