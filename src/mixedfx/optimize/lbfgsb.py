"""L-BFGS-B (SciPy) with the exact gradient and a stopping rule on the predicted decrease."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from mixedfx.optimize.options import Differentiable, OptimizerOptions, OptSummary

# Line-search evaluations per iteration allowed to SciPy's L-BFGS-B.
MAX_LINE_SEARCH = 10
# The objective's own relative precision: no stopping rule asks for less.
OBJECTIVE_PRECISION = 1e-13


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
        options={"maxfun": options.maxeval, "maxls": MAX_LINE_SEARCH, "ftol": 0.0, "gtol": 0.0},
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
    own precision (`OBJECTIVE_PRECISION` of its size).
    """
    s, y = x - x0, g - g0
    sy = float(s @ y)
    if sy <= 0:  # no positive curvature seen: no prediction
        return False
    tolerance = max(tolerance, OBJECTIVE_PRECISION * abs(f))
    g2 = float(np.sum(g[~((x <= lower) & (g > 0))] ** 2))
    safe = 0.5 * float(s @ s) / sy * g2
    noisy = 0.5 * sy / float(y @ y) * g2
    return safe < tolerance or (noisy < tolerance and f0 - f < tolerance)
