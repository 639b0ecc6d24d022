"""Likelihood profiles and profile confidence intervals (lme4's ``profile`` and
``confint(method = "profile")``).

As lme4 does, a REML fit is profiled through its ML refit.  Each parameter ψ_i is fixed at
values around its estimate and the ML deviance minimized over the others; the signed root

    ζ(ψ_i) = sign(ψ_i − ψ̂_i) sqrt(d(ψ_i) − d(ψ̂))

is approximately standard normal, so the interval is where |ζ| ≤ z_{(1+level)/2}.  lme4
interpolates ζ with splines through a grid; here each end point is found as the root of
ζ(ψ_i) ∓ z directly (Brent's method), which needs fewer refits and no interpolation.

Variance parameters are profiled on lme4's scale: the standard deviation and correlation of
each term's coefficients, and σ.  Fixed effects are profiled by moving x_j β_j into the
response, which changes only the cross-products, never the rows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, stats

from mixedfx.covariance import sdcor_vector
from mixedfx.crossprod import CrossProducts
from mixedfx.factor import LOG_2PI
from mixedfx.linalg import off_diagonal
from mixedfx.lmm import LinearMixedModel
from mixedfx.objective import ProfiledDeviance
from mixedfx.optimize import OptimizerOptions, bobyqa, minimize_theta

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VarianceScale:
    """lme4's profile scale for the variance parameters: per term the standard deviations and
    the correlations (lower triangle), then σ.

    Attributes
    ----------
    names
        One name per parameter: ``sd(coef|group)``, ``cor(a,b|group)``, ``sigma``.
    lower, upper
        Bounds: 0 for standard deviations and σ, ±1 for correlations.
    """

    fit: LinearMixedModel
    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def of(cls, fit: LinearMixedModel) -> VarianceScale:
        names: list[str] = []
        lower: list[float] = []
        for group, term in zip(fit.group_names, fit.design.terms):
            k = term.k
            names += [f"sd({name}|{group})" for name in term.names]
            lower += [0.0] * k
            names += [
                f"cor({term.names[a]},{term.names[b]}|{group})"
                for b in range(k)
                for a in range(b + 1, k)
            ]
            lower += [-1.0] * (k * (k - 1) // 2)
        names.append("sigma")
        lower.append(0.0)
        lows = np.array(lower)
        return cls(fit, tuple(names), lows, np.where(lows < 0, 1.0, np.inf))

    def estimate(self) -> np.ndarray:
        """ψ̂ of the fit: standard deviations, correlations (0 where undefined), σ."""
        return np.nan_to_num(sdcor_vector(self.fit.covariances, self.fit.sigma))

    def theta(self, psi: np.ndarray) -> np.ndarray | None:
        """θ from ψ: T_j = diag(s) chol(C) / σ; None if a correlation matrix is not PD."""
        sigma = psi[-1]
        parts, i = [], 0
        for k in self.fit.layout.ks:
            sd = psi[i : i + k]
            C = np.eye(k)
            idx = [(a, b) for b in range(k) for a in range(b + 1, k)]
            for (a, b), value in zip(idx, psi[i + k : i + k + len(idx)]):
                C[a, b] = C[b, a] = value
            i += k + len(idx)
            try:
                T = (sd[:, None] * np.linalg.cholesky(C)) / sigma
            except np.linalg.LinAlgError:
                return None
            parts.append(T)
        return self.fit.layout.flatten(parts)


@dataclass(frozen=True)
class Profile:
    """ζ of one parameter at the points evaluated, ordered by the parameter's value."""

    name: str
    values: np.ndarray
    zeta: np.ndarray


@dataclass(frozen=True)
class Profiler:
    """Evaluates ζ for each parameter of an ML fit."""

    fit: LinearMixedModel
    scale: VarianceScale
    deviance: ProfiledDeviance
    base: float

    @classmethod
    def of(cls, fit: LinearMixedModel) -> Profiler:
        from mixedfx.inference.lrt import as_ml

        ml = as_ml(fit)  # profiles are on the ML deviance, as lme4's
        return cls(ml, VarianceScale.of(ml), ml.deviance_function(), ml.objective)

    def psi_deviance(self, psi: np.ndarray) -> float:
        """ML deviance at ψ, β profiled out: log|L_Z|² + r²/σ² + n log(2πσ²)."""
        theta = self.scale.theta(psi)
        factor = None if theta is None else self.deviance.factor(theta)
        if factor is None or psi[-1] <= 0:
            return np.inf
        s2 = psi[-1] ** 2
        return factor.logdet_Z + factor.pwrss / s2 + factor.n * (LOG_2PI + np.log(s2))

    def variance_zeta(self, i: int, value: float) -> float:
        """ζ of variance parameter i at `value`, the others re-optimized."""
        psi0 = self.scale.estimate()
        others = [j for j in range(psi0.size) if j != i]

        def reduced(x: np.ndarray) -> float:
            psi = psi0.copy()
            psi[others] = x
            psi[i] = value
            return self.psi_deviance(psi)

        start = np.clip(psi0[others], self.scale.lower[others], self.scale.upper[others])
        best = _minimize(reduced, start, self.scale.lower[others], self.scale.upper[others])
        return _signed_root(best - self.base, value - psi0[i])

    def fixed_zeta(self, j: int, value: float) -> float:
        """ζ of fixed effect j at `value`: the model with x_j β_j moved into the offset."""
        objective = self.fit.deviance_function(offset_cross_products(self.fit.A, j, value))
        start = self.fit.refit_start(objective.A)
        opt = minimize_theta(objective, start, self.fit.layout.lower_bounds(), OptimizerOptions())
        beta = self.fit.fixef.to_numpy()[j]
        return _signed_root(opt.fmin - self.base, value - beta)


def _minimize(
    f: Callable[[np.ndarray], float], x0: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> float:
    if x0.size == 0:
        return f(x0)
    bounded = np.where(np.isfinite(lo), lo, -np.inf)
    result = bobyqa(lambda x: f(np.minimum(x, hi)), x0, bounded, OptimizerOptions(ftol_abs=1e-10))
    return result.fmin


def _signed_root(delta: float, direction: float) -> float:
    return float(np.sign(direction) * np.sqrt(max(delta, 0.0)))


def offset_cross_products(A: CrossProducts, j: int, value: float) -> CrossProducts:
    """A for the response y − x_j·value and X without column j (no pass over the rows).

    With W = [Z_rest X y], the new y column is y − value·x_j, so every block is updated by
    linear combinations of the x_j and y rows and columns, then x_j is dropped.
    """
    q, p = A.q_rest, A.p
    xj, y = q + j, q + p
    T = np.eye(A.r)
    T[xj, y] = -value  # new y = y − value x_j
    keep = [c for c in range(A.r) if c != xj]
    R = (T.T @ A.R @ T)[np.ix_(keep, keep)]
    B = sp.csr_matrix(T.T[keep]) @ A.B.matrix
    return replace(A, B=off_diagonal(B, A.A11.shape[1]), R=R, p=p - 1)


def profile_intervals(
    fit: LinearMixedModel, level: float, progress: Progress | None = None
) -> pd.DataFrame:
    """Profile-likelihood intervals for every parameter (variance scale first, then β)."""
    profiler = Profiler.of(fit)
    z = float(stats.norm.ppf(0.5 + level / 2))
    report = progress or _stderr_progress
    rows = {}
    psi = profiler.scale.estimate()
    for i, name in enumerate(profiler.scale.names):
        report(f"profiling {name}")
        zeta = lambda v, i=i: profiler.variance_zeta(i, v)  # noqa: E731
        lo, hi = profiler.scale.lower[i], profiler.scale.upper[i]
        step = 0.2 if name.startswith("cor") else 0.3 * psi[i] + 0.05 * profiler.fit.sigma
        rows[name] = (
            _end_point(zeta, psi[i], -z, step, lo),
            _end_point(zeta, psi[i], z, step, hi),
        )
    beta = profiler.fit.fixef.to_numpy()
    se = np.sqrt(np.diag(profiler.fit.vcov.to_numpy()))
    for j, name in enumerate(profiler.fit.fixef_names):
        report(f"profiling {name}")
        zeta = lambda v, j=j: profiler.fixed_zeta(j, v)  # noqa: E731
        rows[name] = (
            _end_point(zeta, beta[j], -z, se[j], -np.inf),
            _end_point(zeta, beta[j], z, se[j], np.inf),
        )
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])


def _end_point(
    zeta: Callable[[float], float], centre: float, target: float, step: float, bound: float
) -> float:
    """Where ζ crosses `target` on the side of `centre` its sign points to, within `bound`."""
    direction = np.sign(target)
    inner, outer = centre, centre + direction * step
    for _ in range(40):
        if (outer - bound) * direction >= 0:
            outer = bound
            if not np.isfinite(bound):
                return float("nan")
            if (zeta(outer) - target) * direction <= 0:
                return float(bound)  # ζ never reaches the target before the boundary
            break
        if (zeta(outer) - target) * direction >= 0:
            break
        inner, outer = outer, centre + 2 * (outer - centre)
    try:
        root = optimize.brentq(
            lambda v: zeta(v) - target, min(inner, outer), max(inner, outer), xtol=1e-6 * abs(step)
        )
    except ValueError:  # ζ is not monotone here (lme4 reports NA as well)
        return float("nan")
    return float(root)


def _stderr_progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{message:60s}", end="", file=sys.stderr, flush=True)


def profiles(fit: LinearMixedModel, level: float = 0.99, points: int = 9) -> dict[str, Profile]:
    """ζ of each parameter on `points` values across its `level` interval (lme4's profile)."""
    intervals = profile_intervals(fit, level)
    profiler = Profiler.of(fit)
    names = list(profiler.scale.names)
    out = {}
    for name, lower, upper in zip(
        map(str, intervals.index), intervals["lower"], intervals["upper"]
    ):
        grid = np.linspace(lower, upper, points)
        if name in names:
            i = names.index(name)
            zeta = [profiler.variance_zeta(i, v) for v in grid]
        else:
            j = list(profiler.fit.fixef_names).index(name)
            zeta = [profiler.fixed_zeta(j, v) for v in grid]
        out[name] = Profile(name, grid, np.array(zeta))
    return out
