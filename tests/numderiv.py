"""Finite-difference derivatives with Richardson extrapolation, as R's numDeriv (which
lmerTest uses), with numDeriv's steps.

Central differences have error c₂h² + c₄h⁴ + …; evaluating at h, h/2, h/4, h/8 and
eliminating the leading terms (Richardson) leaves an error of order h⁸.  Second differences
divide rounding noise by h², so the Hessian starts from a wide step (10% of each
coordinate, numDeriv's choice) and relies on the extrapolation for accuracy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

JACOBIAN_STEP = 1e-4  # relative first step, numDeriv's jacobian default d
HESSIAN_STEP = 0.1  # numDeriv's genD default d: second differences need a wide step
ZERO_STEP = 1e-4  # the step at x = 0 (numDeriv's eps)
LEVELS = 4  # numDeriv's default r
SHRINK = 2.0  # numDeriv's default v


def _steps(x: np.ndarray, relative: float, units: np.ndarray | None) -> np.ndarray:
    """numDeriv's first steps: `relative` of each |x_i|, or where x_i is near zero ZERO_STEP
    times its unit (numDeriv's unit is 1; a parameter whose natural size is 1e-12 needs its
    own, or the step leaves the region where the function can be evaluated)."""
    unit = np.ones_like(x) if units is None else units
    return relative * np.abs(x) + ZERO_STEP * unit * (np.abs(x) < 1e-5 * unit)


def _extrapolate(estimates: list[np.ndarray]) -> np.ndarray:
    """Richardson extrapolation of central-difference estimates at steps h, h/2, h/4, ..."""
    table = estimates
    for m in range(1, len(table)):
        factor = 4.0**m
        table = [(factor * table[i + 1] - table[i]) / (factor - 1) for i in range(len(table) - 1)]
    return table[0]


def jacobian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, units: np.ndarray | None = None
) -> np.ndarray:
    """∂f/∂x_i for an array-valued f; returns shape (len(x), *f(x).shape).  `units`: the
    natural size of each x_i (`_steps`), 1 by default."""
    x = np.asarray(x, dtype=float)
    h0 = _steps(x, JACOBIAN_STEP, units)
    out = []
    for i in range(x.size):
        estimates = []
        for level in range(LEVELS):
            h = h0[i] / SHRINK**level
            e = np.zeros_like(x)
            e[i] = h
            estimates.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
        out.append(_extrapolate(estimates))
    return np.array(out)


def hessian(
    f: Callable[[np.ndarray], float], x: np.ndarray, units: np.ndarray | None = None
) -> np.ndarray:
    """Second derivatives of a scalar f at x; shape (len(x), len(x)), symmetric.  `units`:
    the natural size of each x_i (`_steps`), 1 by default."""
    x = np.asarray(x, dtype=float)
    k = x.size
    h0 = _steps(x, HESSIAN_STEP, units)
    f0 = float(f(x))
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i + 1):
            estimates = []
            for level in range(LEVELS):
                hi, hj = h0[i] / SHRINK**level, h0[j] / SHRINK**level
                estimates.append(np.array(_second_difference(f, x, f0, i, j, hi, hj)))
            H[i, j] = H[j, i] = float(_extrapolate(estimates))
    return H


def _second_difference(
    f: Callable[[np.ndarray], float], x: np.ndarray, f0: float, i: int, j: int, hi: float, hj: float
) -> float:
    ei = np.zeros_like(x)
    ei[i] = hi
    if i == j:
        return (float(f(x + ei)) - 2 * f0 + float(f(x - ei))) / hi**2
    ej = np.zeros_like(x)
    ej[j] = hj
    plus = float(f(x + ei + ej)) - float(f(x + ei - ej))
    minus = float(f(x - ei + ej)) - float(f(x - ei - ej))
    return (plus - minus) / (4 * hi * hj)
