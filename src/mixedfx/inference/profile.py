"""Likelihood profiles and profile confidence intervals (lme4's ``profile`` and
``confint(method = "profile")``).

As lme4 does, a REML fit is profiled through its ML refit.  Each parameter ψ is fixed at
values around its estimate and the ML deviance minimized over the others; the signed root

    ζ(ψ) = sign(ψ − ψ̂) sqrt(d(ψ) − d(ψ̂))

is approximately standard normal, so the interval is where |ζ| ≤ z_{(1+level)/2}.  lme4
interpolates ζ with splines through a grid; here each end point is found as the root of
ζ(ψ) ∓ z directly (Brent's method), which needs fewer refits and no interpolation.

The parameters are lme4's: the standard deviation and correlation of each term's
coefficients, σ, and the fixed effects.  Each minimization over the others runs in θ-space
with the exact gradient (`mixedfx.inference.restricted`), from the optimum at the nearest
value already profiled.  ζ must grow monotonically away from the estimate; where it does not,
the points are re-optimized from their neighbours' optima, and where that does not help, or
an end cannot be found, the end is NaN with a `ProfileWarning` (lme4 warns of a
"non-monotonic profile" too).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import optimize, stats

from mixedfx.covariance import sdcor_vector
from mixedfx.errors import ProfileWarning
from mixedfx.inference.restricted import (
    FixedSigma,
    Restricted,
    SigmaOfSD,
    off_correlation_bounds,
    offset_cross_products,
    reordered_cross_products,
    reordered_theta,
)
from mixedfx.lmm import LinearMixedModel
from mixedfx.objective import ProfiledDeviance
from mixedfx.optimize import OptimizerOptions, minimize_theta

Progress = Callable[[str], None]

# Deviance differences below this are rounding and optimizer noise, not a non-monotone profile.
DEVIANCE_TOL = 1e-6
# How far ζ at an end found by root finding may lie from its target (a jump, otherwise).
ZETA_TOL = 1e-3
# The most outward steps (each doubling the distance from the estimate) to bracket an end.
MAX_STEPS = 40
# Rounds of re-optimizing the points of a non-monotone profile from their neighbours.
MAX_REPAIRS = 3


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
    members
        Per parameter, its term and coefficients: (term, (a,)) for an SD, (term, (a, b)) for
        the correlation of a and b, None for σ.
    """

    fit: LinearMixedModel
    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    members: tuple[tuple[int, tuple[int, ...]] | None, ...]

    @classmethod
    def of(cls, fit: LinearMixedModel) -> VarianceScale:
        names: list[str] = []
        members: list[tuple[int, tuple[int, ...]] | None] = []
        for t, (group, term) in enumerate(zip(fit.group_names, fit.design.terms)):
            k = term.k
            names += [f"sd({name}|{group})" for name in term.names]
            members += [(t, (a,)) for a in range(k)]
            pairs = [(a, b) for b in range(k) for a in range(b + 1, k)]
            names += [f"cor({term.names[a]},{term.names[b]}|{group})" for a, b in pairs]
            members += [(t, (b, a)) for a, b in pairs]
        names.append("sigma")
        members.append(None)
        lows = np.array([0.0 if m is None or len(m[1]) == 1 else -1.0 for m in members])
        return cls(fit, tuple(names), lows, np.where(lows < 0, 1.0, np.inf), tuple(members))

    def estimate(self) -> np.ndarray:
        """ψ̂ of the fit: standard deviations, correlations (0 where undefined), σ."""
        return np.nan_to_num(sdcor_vector(self.fit.covariances, self.fit.sigma))


@dataclass(frozen=True)
class Profile:
    """ζ of one parameter at the points evaluated, ordered by the parameter's value."""

    name: str
    values: np.ndarray
    zeta: np.ndarray


@dataclass(frozen=True)
class Point:
    """A minimum of the deviance with one parameter held fixed.

    Attributes
    ----------
    theta
        θ there, in the parameter's own layout (its term's coefficients possibly reordered).
    sigma
        σ there.
    deviance
        The minimized ML deviance.
    converged
        Whether the optimizer met its convergence criteria.
    """

    theta: np.ndarray
    sigma: float
    deviance: float
    converged: bool = True


class Parameter(Protocol):
    """One profiled parameter: how to hold it at a value, and how to start from a neighbour."""

    name: str
    estimate: float
    lower: float
    upper: float
    centre: Point  # the ML estimate, in the parameter's layout

    def restricted(self, value: float) -> Restricted:
        """The deviance over the other parameters with this one at `value`."""
        ...

    def start(self, value: float, point: Point) -> np.ndarray:
        """The free parameters of `restricted(value)` nearest to `point`."""
        ...


@dataclass(frozen=True)
class SigmaParameter:
    """σ: the deviance at σ = value over all of θ."""

    name: str
    estimate: float
    centre: Point
    objective: ProfiledDeviance
    lower: float = 0.0
    upper: float = np.inf

    def restricted(self, value: float) -> Restricted:
        layout = self.objective.layout
        return Restricted(
            self.objective, np.eye(layout.size), layout.lower_bounds(), FixedSigma(value)
        )

    def start(self, value: float, point: Point) -> np.ndarray:
        return point.theta


@dataclass(frozen=True)
class SDParameter:
    """The SD of one coefficient, first in its term's reordered template: σ·θ_j = value."""

    name: str
    estimate: float
    centre: Point
    objective: ProfiledDeviance
    j: int  # θ index of the reordered template's first diagonal entry
    lower: float = 0.0
    upper: float = np.inf

    def restricted(self, value: float) -> Restricted:
        layout = self.objective.layout
        lower = layout.lower_bounds()
        if value > 0:
            lower[self.j] = value / (1e6 * self.centre.sigma)  # σ below 10⁶ σ̂
            return Restricted(self.objective, np.eye(layout.size), lower, SigmaOfSD(value, self.j))
        keep = np.arange(layout.size) != self.j  # θ_j = 0, σ profiled
        return Restricted(self.objective, np.eye(layout.size)[:, keep], lower[keep], None)

    def start(self, value: float, point: Point) -> np.ndarray:
        if value > 0:
            x = point.theta.copy()
            x[self.j] = value / point.sigma  # σ as at `point`
            return x
        return np.delete(point.theta, self.j)


@dataclass(frozen=True)
class CorParameter:
    """The correlation of two coefficients, first and second in their term's reordered
    template: its rows (θ_j, 0, …) and s (ρ, √(1 − ρ²), 0, …), with s free."""

    name: str
    estimate: float
    centre: Point
    objective: ProfiledDeviance
    j: int  # θ index of the reordered template's first diagonal entry
    k: int  # the term's number of coefficients
    lower: float = -1.0
    upper: float = 1.0

    @property
    def _entries(self) -> tuple[int, int]:
        """θ indices of the second row's entries (1, 0) and (1, 1)."""
        return self.j + 1, self.j + self.k

    def restricted(self, value: float) -> Restricted:
        layout = self.objective.layout
        j10, j11 = self._entries
        keep = np.arange(layout.size) != j10
        E = np.eye(layout.size)[:, keep]
        s = int(np.sum(keep[:j11]))  # the column of the second row's length s
        E[j10, s], E[j11, s] = value, np.sqrt(max(1.0 - value**2, 0.0))
        return Restricted(self.objective, E, layout.lower_bounds()[keep], None)

    def start(self, value: float, point: Point) -> np.ndarray:
        j10, j11 = self._entries
        x = point.theta.copy()
        x[j11] = np.hypot(x[j10], x[j11])
        return np.delete(x, j10)


@dataclass(frozen=True)
class FixedEffectParameter:
    """β_j: x_j β_j moved into the response, the deviance over all of θ."""

    name: str
    estimate: float
    centre: Point
    fit: LinearMixedModel
    j: int
    lower: float = -np.inf
    upper: float = np.inf

    def restricted(self, value: float) -> Restricted:
        objective = self.fit.deviance_function(
            offset_cross_products(self.fit.A, self.j, value), reml=False
        )
        layout = self.fit.layout
        return Restricted(objective, np.eye(layout.size), layout.lower_bounds(), None)

    def start(self, value: float, point: Point) -> np.ndarray:
        return point.theta


def variance_parameters(ml: LinearMixedModel) -> list[Parameter]:
    """lme4's variance parameters of an ML fit, in `VarianceScale` order."""
    scale = VarianceScale.of(ml)
    psi = scale.estimate()
    out: list[Parameter] = []
    for name, estimate, member in zip(scale.names, psi, scale.members):
        if member is None:
            objective = ml.deviance_function(reml=False)
            out.append(SigmaParameter(name, estimate, Point(ml.theta, ml.sigma, ml.objective), objective))
            continue
        term, coefs = member
        k = ml.layout.ks[term]
        order = np.array([*coefs, *(c for c in range(k) if c not in coefs)])
        A = reordered_cross_products(ml.A, ml.layout, ml.design.levels, term, order)
        objective = ml.deviance_function(A, reml=False)
        centre = Point(reordered_theta(ml.theta, ml.layout, term, order), ml.sigma, ml.objective)
        j = ml.layout.offsets[term]
        if len(coefs) == 1:
            out.append(SDParameter(name, estimate, centre, objective, j))
        else:
            out.append(CorParameter(name, estimate, centre, objective, j, k))
    return out


def fixed_effect_parameters(ml: LinearMixedModel) -> list[Parameter]:
    """The fixed effects of an ML fit."""
    centre = Point(ml.theta, ml.sigma, ml.objective)
    beta = ml.fixef.to_numpy()
    return [
        FixedEffectParameter(name, float(beta[j]), centre, ml, j)
        for j, name in enumerate(ml.fixef_names)
    ]


class Trace:
    """The profile of one parameter: the minimum found at every value evaluated so far.

    Each new value is optimized from the point at the nearest value (the estimate at first),
    so that the minimizations follow one valley outward.
    """

    def __init__(self, parameter: Parameter, base: float):
        self.parameter = parameter
        self.base = base
        self.points: dict[float, Point] = {parameter.estimate: parameter.centre}

    def zeta(self, value: float) -> float:
        """ζ at `value`; ±inf where the deviance is infinite (σ = 0)."""
        delta = self.deviance(value) - self.base
        return float(np.sign(value - self.parameter.estimate) * np.sqrt(max(delta, 0.0)))

    def deviance(self, value: float) -> float:
        """The minimized deviance at `value`: the better of the minimizations started from the
        nearest points evaluated below and above it (one when it lies outside them all)."""
        if value not in self.points:
            below = [v for v in self.points if v < value]
            above = [v for v in self.points if v > value]
            neighbours = [*([max(below)] if below else []), *([min(above)] if above else [])]
            candidates = [self.optimum(value, self.points[v]) for v in neighbours]
            self.points[value] = min(candidates, key=lambda p: p.deviance)
        return self.points[value].deviance

    def optimum(self, value: float, start: Point) -> Point:
        """The minimum over the other parameters at `value`, from `start`'s neighbourhood.

        Where it has a correlation at ±1, the deviance can have another valley with that
        correlation of the other sign or inside (−1, 1), which a descent along the bound
        never sees: the minimization is restarted from both (`off_correlation_bounds`).
        """
        restricted = self.parameter.restricted(value)
        best = self._minimize(restricted, value, start)
        tried = [self.parameter.start(value, start)]
        for theta in off_correlation_bounds(best.theta, restricted.objective.layout):
            alternative = Point(theta, best.sigma, best.deviance)
            x0 = self.parameter.start(value, alternative)
            if any(np.allclose(x0, x) for x in tried):
                continue  # the constraint maps it back to a start already tried
            tried.append(x0)
            candidate = self._minimize(restricted, value, alternative)
            if candidate.deviance < best.deviance:
                best = candidate
        return best

    def _minimize(self, restricted: Restricted, value: float, start: Point) -> Point:
        x0 = np.maximum(self.parameter.start(value, start), restricted.lower)
        opt = minimize_theta(restricted, x0, restricted.lower, OptimizerOptions())
        x = opt.final
        return Point(restricted.theta(x), restricted.sigma_at(x), opt.fmin, opt.converged)

    def repair(self, side: float) -> bool:
        """Re-optimize every point on one `side` (±1) of the estimate from its neighbours'
        optima, sweeping outward and back; True if any point improved."""
        values = self._side(side)
        path = [self.parameter.estimate, *values]
        improved = False
        for sweep in (path, path[::-1]):
            for previous, value in zip(sweep, sweep[1:]):
                if value == self.parameter.estimate:
                    continue
                candidate = self.optimum(value, self.points[previous])
                if candidate.deviance < self.points[value].deviance - DEVIANCE_TOL:
                    self.points[value] = candidate
                    improved = True
        return improved

    def consistent(self, side: float, end: float, target: float) -> bool:
        """Whether the deviance grows away from the estimate on one `side` (±1) and, unless
        `end` is the parameter's bound, ζ(end) is `target`: a jump there would mean points
        on either side of it lie in different valleys."""
        deviances = [self.parameter.centre.deviance, *(self.points[v].deviance for v in self._side(side))]
        if np.any(np.diff(deviances) < -DEVIANCE_TOL):
            return False
        return end in (self.parameter.lower, self.parameter.upper) or bool(
            abs(self.zeta(end) - target) <= ZETA_TOL
        )

    def _side(self, side: float) -> list[float]:
        """The values evaluated on one side of the estimate, nearest first."""
        centre = self.parameter.estimate
        return sorted((v for v in self.points if (v - centre) * side > 0), key=lambda v: abs(v - centre))

    def unconverged(self) -> list[float]:
        return sorted(v for v, p in self.points.items() if not p.converged)


def interval_end(trace: Trace, target: float, step: float) -> tuple[float, str | None]:
    """Where ζ crosses `target` on the side its sign points to, with the reason when there is
    no such point (NaN then).  If ζ stays within `target` up to the parameter's bound, the
    bound is the end (as lme4's 0 for an SD or ±1 for a correlation)."""
    side = float(np.sign(target))
    for _ in range(MAX_REPAIRS + 1):
        end = _crossing(trace, target, step)
        if np.isnan(end):
            return end, f"ζ does not reach {target:+.2f} on this side of the estimate"
        if trace.consistent(side, end, target):
            return end, None
        if not trace.repair(side):
            break
    return float("nan"), "non-monotonic profile"


def _crossing(trace: Trace, target: float, step: float) -> float:
    parameter = trace.parameter
    centre = parameter.estimate
    side = float(np.sign(target))
    bound = parameter.lower if side < 0 else parameter.upper
    inner, outer = centre, centre + side * step
    for _ in range(MAX_STEPS):
        if (outer - bound) * side >= 0:
            at_bound = trace.zeta(bound) - target
            if at_bound * side <= 0:
                return float(bound)  # ζ never reaches the target before the bound
            if np.isfinite(at_bound):
                outer = bound
                break
            outer = (inner + bound) / 2  # the bound itself cannot be evaluated (σ = 0)
            continue
        if (trace.zeta(outer) - target) * side >= 0:
            break
        inner, outer = outer, centre + 2 * (outer - centre)
    else:
        return float("nan")
    root = optimize.brentq(
        lambda v: trace.zeta(v) - target,
        min(inner, outer),
        max(inner, outer),
        xtol=1e-6 * abs(step),
    )
    return float(root)


def initial_step(parameter: Parameter, sigma: float, se: float | None) -> float:
    """The first step outward: the standard error for a fixed effect, 0.2 for a correlation,
    a fraction of the estimate for σ and the SDs."""
    if se is not None:
        return se
    if parameter.lower < 0:
        return 0.2
    return 0.3 * parameter.estimate + 0.05 * sigma


@dataclass
class Profiler:
    """The ML fit, its parameters, and the traces profiled so far."""

    fit: LinearMixedModel
    parameters: list[Parameter]
    traces: dict[str, Trace]

    @classmethod
    def of(cls, fit: LinearMixedModel) -> Profiler:
        from mixedfx.inference.lrt import as_ml

        ml = as_ml(fit)  # profiles are on the ML deviance, as lme4's
        parameters = [*variance_parameters(ml), *fixed_effect_parameters(ml)]
        return cls(ml, parameters, {p.name: Trace(p, ml.objective) for p in parameters})

    def interval(self, parameter: Parameter, z: float) -> tuple[float, float, list[str]]:
        """The ends where ζ = −z and ζ = z, and what went wrong at each (if anything)."""
        trace = self.traces[parameter.name]
        se = self._standard_errors().get(parameter.name)
        step = initial_step(parameter, self.fit.sigma, se)
        ends, problems = [], []
        for target, label in ((-z, "lower"), (z, "upper")):
            end, problem = interval_end(trace, target, step)
            ends.append(end)
            if problem:
                problems.append(f"{label} end: {problem}")
        if trace.unconverged():
            problems.append(f"optimizer did not converge at {trace.unconverged()}")
        lowest = min(p.deviance for p in trace.points.values())
        if lowest < trace.base - 1e3 * DEVIANCE_TOL:
            problems.append(
                f"a deviance {trace.base - lowest:.3g} below the fit's was found: the fit is "
                "not at the maximum likelihood"
            )
        return ends[0], ends[1], problems

    def _standard_errors(self) -> dict[str, float]:
        se = np.sqrt(np.diag(self.fit.vcov.to_numpy()))
        return dict(zip(self.fit.fixef_names, se))


def profile_intervals(
    fit: LinearMixedModel, level: float, progress: Progress | None = None
) -> pd.DataFrame:
    """Profile-likelihood intervals for every parameter (variance scale first, then β).

    An end that cannot be found is NaN, with a `ProfileWarning` naming the parameter.
    """
    profiler = Profiler.of(fit)
    z = float(stats.norm.ppf(0.5 + level / 2))
    report = progress or _stderr_progress
    rows = {}
    for parameter in profiler.parameters:
        report(f"profiling {parameter.name}")
        lower, upper, problems = profiler.interval(parameter, z)
        rows[parameter.name] = (lower, upper)
        if problems:
            warnings.warn(
                f"profile of {parameter.name}: " + "; ".join(problems),
                ProfileWarning,
                stacklevel=3,
            )
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])


def _stderr_progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{message:60s}", end="", file=sys.stderr, flush=True)


def profiles(fit: LinearMixedModel, level: float = 0.99, points: int = 9) -> dict[str, Profile]:
    """ζ of each parameter on `points` values across its `level` interval (lme4's profile)."""
    profiler = Profiler.of(fit)
    z = float(stats.norm.ppf(0.5 + level / 2))
    out = {}
    for parameter in profiler.parameters:
        lower, upper, _ = profiler.interval(parameter, z)
        trace = profiler.traces[parameter.name]
        evaluated = np.array(list(trace.points))
        lower = evaluated.min() if np.isnan(lower) else lower
        upper = evaluated.max() if np.isnan(upper) else upper
        grid = np.linspace(lower, upper, points)
        out[parameter.name] = Profile(parameter.name, grid, np.array([trace.zeta(v) for v in grid]))
    return out
