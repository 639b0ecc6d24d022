"""A run's verdict checked by the gradient and a Hessian from its differences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mixedfx.optimize.options import Differentiable, OptSummary

CONFIRMED = "first-order optimum confirmed"


# Curvature below this fraction of the largest counts as none: the Hessian comes from
# differences of the gradient, whose rounding (and a valley that is flat only up to rounding)
# leaves curvatures of up to about this relative size
FLAT_CURVATURE = 1e-6

# Central-difference step, relative to |θ_i| (at least `MIN_DIFFERENCE_SCALE`).
DIFFERENCE_STEP = 1e-4
MIN_DIFFERENCE_SCALE = 1e-2


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


def gradient_hessian(objective: Differentiable, theta: np.ndarray) -> np.ndarray:
    """The Hessian at θ by central differences of the exact gradient; shape (nθ, nθ)."""
    return _differences(objective, np.asarray(theta, dtype=float))[0]


def _differences(objective: Differentiable, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Hessian at θ by central differences of the gradient, and per coordinate i the
    sum f(θ + h e_i) + f(θ − h e_i) − h² H_ii, shape (nθ,), which equals 2 f(θ) up to terms
    of order h⁴ and the rounding of the values (`verify_stationary` reads the latter)."""
    steps = DIFFERENCE_STEP * np.maximum(np.abs(theta), MIN_DIFFERENCE_SCALE)
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
