"""Dense BFGS from a known Hessian: a refit to a new response starts at the fit's θ̂ with
the Hessian there, a few steps from its optimum."""

from __future__ import annotations

import numpy as np

from mixedfx.optimize.options import Differentiable, OptimizerOptions, OptSummary

# Armijo's sufficient-decrease fraction, and the shortest step fraction tried before the
# step is declared blocked (a bound or no decrease).
ARMIJO = 1e-4
SHORTEST_STEP = 1 / 64
MAX_ITERATIONS = 20


def bfgs(
    objective: Differentiable,
    theta0: np.ndarray,
    lower: np.ndarray,
    options: OptimizerOptions,
    hessian: np.ndarray,
    max_iterations: int = MAX_ITERATIONS,
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
        while t >= SHORTEST_STEP and np.all(theta + t * step >= lower):
            f_new, g_new = objective.value_and_gradient(theta + t * step)
            count += 1
            if f_new <= f + ARMIJO * t * float(g @ step):
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
