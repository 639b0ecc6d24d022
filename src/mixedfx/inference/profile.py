"""Likelihood profiles and profile confidence intervals (lme4's ``profile`` and
``confint(method = "profile")``).

As lme4 does, a REML fit is profiled through its ML refit.  Each parameter ψ is fixed at
values around its estimate and the ML deviance minimized over the others; the signed root

    ζ(ψ) = sign(ψ − ψ̂) sqrt(d(ψ) − d(ψ̂))

is approximately standard normal, so the interval is where |ζ| ≤ z_{(1+level)/2}.  lme4
interpolates ζ with splines through a grid; here each end is found as the root of ζ(ψ) ∓ z
directly, by interpolation within a bracket, which needs fewer refits and no spline.

The parameters are lme4's: the standard deviation and correlation of each term's
coefficients, σ, and the fixed effects (`mixedfx.inference.profile_parameters`).  Each
minimization over the others runs in θ-space with the exact gradient
(`mixedfx.inference.restricted`), from the optima at the nearest values already profiled on
either side.  The deviance often has several valleys, most of all on the boundary (a
correlation of ±1, a zero variance), so a minimum on the boundary is searched again from off
it, and each interval end from the estimate and every correlation restart too.  ζ must cross
±z once, continuously: where it jumps or crosses again, the points are re-optimized from their
neighbours' optima, and where that does not help, or an end cannot be found, the end is NaN
with a `ProfileWarning` (lme4 warns of a "non-monotonic profile").  A profile that finds a
lower deviance than the ML fit's starts over from that better optimum, with a warning (lme4
stops with an error).
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.distributions import norm_ppf
from mixedfx.errors import ProfileWarning
from mixedfx.inference.profile_parameters import (
    Parameter,
    Point,
    VarianceScale,
    fixed_effect_parameters,
    variance_parameters,
)
from mixedfx.inference.protocol import MixedFit, require_one_residual_sd
from mixedfx.inference.restricted import (
    Restricted,
    at_correlation_bound,
    correlation_restarts,
)
from mixedfx.optimize import OptimizerOptions, minimize_theta
from mixedfx.pls.start import moment_start

__all__ = ["Profile", "VarianceScale", "profile_intervals", "profiles"]

Progress = Callable[[str], None]

# Deviance differences below this are rounding and optimizer noise.
DEVIANCE_TOL = 1e-6
# A profile this far below the ML fit's deviance starts over from the better optimum (below
# it, ζ near the estimate is 0 and the ends move by less than 1e-4/(2z)).
RECENTRE_TOL = 1e-4
# The root finder stops where ζ is this close to its target ...
ROOT_TOL = 1e-4
MAX_ROOT_STEPS = 100
# ... and an end whose ζ is further than this from it lies at a jump of the profile.
ZETA_TOL = 1e-3
# The most outward steps to bracket an end; each goes this factor beyond the linear
# prediction of the crossing (but no more than twice as far from the estimate).
MAX_STEPS = 40
OVERSHOOT = 1.2
# Rounds of re-optimizing the points of a profile whose ζ jumps or crosses ±z more than once.
MAX_REPAIRS = 3
# Restarts of the whole profile from a lower ML optimum found while profiling.
MAX_RECENTRES = 3


@dataclass(frozen=True)
class Profile:
    """ζ of one parameter at the points evaluated, ordered by the parameter's value."""

    name: str
    values: np.ndarray
    zeta: np.ndarray


class LowerOptimum(Exception):  # noqa: N818 (a signal, not an error)
    """Raised when profiling finds a deviance below the ML fit's."""

    def __init__(self, parameter: Parameter, point: Point):
        super().__init__(parameter.name)
        self.parameter = parameter
        self.point = point


class Trace:
    """The profile of one parameter: the minimum found at every value evaluated so far.

    Parameters
    ----------
    parameter
        What is profiled.
    base
        The ML fit's deviance, where ζ = 0.
    floor
        Raise `LowerOptimum` at a minimum below this (−inf: never).
    """

    def __init__(self, parameter: Parameter, base: float, floor: float):
        self.parameter = parameter
        self.base = base
        self.floor = floor
        self.points: dict[float, Point] = {parameter.estimate: parameter.centre}

    def zeta(self, value: float) -> float:
        """ζ at `value`; ±inf where the deviance is infinite (σ = 0)."""
        delta = self.deviance(value) - self.base
        return float(np.sign(value - self.parameter.estimate) * np.sqrt(max(delta, 0.0)))

    def deviance(self, value: float) -> float:
        """The minimized deviance at `value` (`optimum`), from the nearest points evaluated
        below and above it (one when it lies outside them all), nearest first."""
        if value not in self.points:
            below = [v for v in self.points if v < value]
            above = [v for v in self.points if v > value]
            neighbours = [*([max(below)] if below else []), *([min(above)] if above else [])]
            neighbours.sort(key=lambda v: abs(v - value))
            self.points[value] = self.optimum(value, [self.points[v] for v in neighbours])
        return self.points[value].deviance

    def optimum(self, value: float, starts: list[Point]) -> Point:
        """The lowest minimum over the other parameters at `value` from the `starts`.

        A descent that ends on a bound cannot see valleys beyond it: where the minimum has a
        correlation at ±1, the deviance can be lower with it reversed or inside (−1, 1), and
        where it has a zero variance, along a correlated direction.  From such a minimum the
        minimization is restarted there (`correlation_restarts`) and from the moment start.
        """
        restricted = self.parameter.restricted(value)
        best = self._lowest(restricted, value, starts[:1], [])
        # a further start is worth a descent where it already lies below that minimum
        promising = [
            s for s in starts[1:] if restricted(self.parameter.start(value, s)) < best.deviance
        ]
        best = self._lowest(restricted, value, promising, [best])
        layout = restricted.objective.layout
        if at_correlation_bound(best.theta, layout) or layout.on_boundary(best.theta):
            best = self._lowest(restricted, value, self._restarts(restricted, best), [best])
        if best.deviance < self.floor:
            raise LowerOptimum(self.parameter, best)
        return best

    def improve(self, value: float) -> bool:
        """Search the point at `value` again from the ML estimate, the moment start and every
        correlation restart, as an interval end deserves; True if it was not the minimum."""
        restricted = self.parameter.restricted(value)
        point = self.points[value]
        starts = [self.parameter.centre, *self._restarts(restricted, point)]
        best = self._lowest(restricted, value, starts, [point])
        if best.deviance < self.floor:
            raise LowerOptimum(self.parameter, best)
        self.points[value] = best
        return best.deviance < point.deviance - DEVIANCE_TOL

    def _restarts(self, restricted: Restricted, point: Point) -> list[Point]:
        objective, layout = restricted.objective, restricted.objective.layout
        thetas = [
            *correlation_restarts(point.theta, layout),
            moment_start(objective.A),
        ]
        return [Point(theta, point.sigma, point.deviance) for theta in thetas]

    def _lowest(
        self, restricted: Restricted, value: float, starts: list[Point], found: list[Point]
    ) -> Point:
        """The lowest of the points `found` and the minima from `starts`; a start that the
        constraint maps to one already used is skipped."""
        tried = [self.parameter.start(value, point) for point in found]
        best = min(found, key=lambda p: p.deviance, default=None)
        for start in starts:
            x0 = self.parameter.start(value, start)
            if any(np.allclose(x0, x) for x in tried):
                continue
            tried.append(x0)
            candidate = self._minimize(restricted, x0)
            if best is None or candidate.deviance < best.deviance:
                best = candidate
        assert best is not None  # `starts` or `found` hold a point
        return best

    def _minimize(self, restricted: Restricted, x0: np.ndarray) -> Point:
        x0 = np.maximum(x0, restricted.lower)
        if not x0.size:  # nothing left free (the SD of a model's only scalar term at 0)
            return Point(restricted.theta(x0), restricted.sigma_at(x0), restricted(x0))
        opt = minimize_theta(restricted, x0, restricted.lower, OptimizerOptions())
        x = opt.final
        return Point(restricted.theta(x), restricted.sigma_at(x), opt.fmin, opt.converged)

    def repair(self, side: float) -> bool:
        """Re-optimize every point on one `side` (±1) of the estimate from its neighbours'
        optima, sweeping outward and back; True if any point improved."""
        path = [self.parameter.estimate, *self._side(side)]
        improved = False
        for sweep in (path, path[::-1]):
            for previous, value in itertools.pairwise(sweep):
                if value == self.parameter.estimate:
                    continue
                candidate = self.optimum(value, [self.points[previous]])
                if candidate.deviance < self.points[value].deviance - DEVIANCE_TOL:
                    self.points[value] = candidate
                    improved = True
        return improved

    def consistent(self, side: float, end: float, target: float) -> bool:
        """Whether ζ crosses `target` once, at `end`, on the `side` (±1) of the estimate it
        points to: |ζ| < |target| at the values evaluated nearer the estimate, ≥ beyond, and
        (unless `end` is the parameter's bound) ζ(end) = target, where a jump would mean that
        the points on either side of it lie in different valleys.  ζ may wiggle inside the
        interval (lme4 would call the profile non-monotonic) without moving its end."""
        reach = abs(end - self.parameter.estimate)
        for value in self._side(side):
            distance, size = abs(value - self.parameter.estimate), self.zeta(value) * side
            if distance < reach and size > abs(target) + ZETA_TOL:
                return False
            if distance > reach and size < abs(target) - ZETA_TOL:
                return False
        on_bound = end in (self.parameter.lower, self.parameter.upper)
        return on_bound or abs(self.zeta(end) - target) <= ZETA_TOL

    def _side(self, side: float) -> list[float]:
        """The values evaluated on one side of the estimate, nearest first."""
        centre = self.parameter.estimate
        values = [v for v in self.points if (v - centre) * side > 0]
        return sorted(values, key=lambda v: abs(v - centre))

    def unconverged(self) -> list[float]:
        """The values whose minimization did not converge."""
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
            if not trace.improve(end):
                return end, None
            trace.repair(side)  # carry the better valley inward
        elif not trace.repair(side):
            break
    return float("nan"), f"ζ crosses {target:+.2f} more than once (a non-monotonic profile)"


def _crossing(trace: Trace, target: float, step: float) -> float:
    """Bracket the crossing by steps outward, then find it by interpolation (`_root`)."""
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
        zeta = trace.zeta(outer)
        if (zeta - target) * side >= 0:
            break
        # a little beyond where ζ would reach the target if it were linear, at most twice as far
        growth = np.clip(OVERSHOOT * target / zeta, 1 + OVERSHOOT / 10, 2.0) if zeta else 2.0
        inner, outer = outer, centre + growth * (outer - centre)
    else:
        return float("nan")
    return _root(lambda v: trace.zeta(v) - target, inner, outer)


def _root(f: Callable[[float], float], a: float, b: float) -> float:
    """A point where |f| ≤ ROOT_TOL, by regula falsi with the Illinois modification
    (Dowell and Jarratt 1971) on the bracket [a, b] (f(a), f(b) of opposite signs).

    ζ is close to linear in the parameter, so interpolation converges in a few steps; the
    modification halves the weight of an end kept twice, which keeps the bracket shrinking
    where f bends.  The point returned is one where f was evaluated.
    """
    fa, fb = f(a), f(b)
    for _ in range(MAX_ROOT_STEPS):
        c = b - fb * (b - a) / (fb - fa) if np.isfinite(fb - fa) else (a + b) / 2
        fc = f(c)
        if abs(fc) <= ROOT_TOL or c in (a, b):
            return float(c)
        if np.sign(fc) == np.sign(fb):
            fa /= 2
        else:
            a, fa = b, fb
        b, fb = c, fc
    return float(b)


def initial_step(parameter: Parameter, sigma: float, se: float | None, z: float) -> float:
    """The first step outward: to the Wald interval's end for a fixed effect (standard
    error `se`), 0.2 for a correlation, a fraction of the estimate for σ and the SDs."""
    if se is not None:
        return z * se
    if parameter.lower < 0:
        return 0.2
    return 0.3 * parameter.estimate + 0.05 * sigma


@dataclass(frozen=True)
class Profiler:
    """The ML fit, its parameters, and the traces profiled so far.

    Attributes
    ----------
    fit
        The ML fit whose deviance is profiled.
    parameters
        Every parameter, variance parameters first.
    traces
        Each parameter's profile so far, by name.
    """

    fit: MixedFit
    parameters: list[Parameter]
    traces: dict[str, Trace]

    @classmethod
    def of(cls, fit: MixedFit, tolerance: float) -> Profiler:
        """The profiler (`at`) of a fit's ML refit: profiles are on the ML deviance, as lme4's."""
        from mixedfx.inference.lrt import as_ml

        return cls.at(as_ml(fit), tolerance)

    @classmethod
    def at(cls, ml: MixedFit, tolerance: float) -> Profiler:
        """The profiler of an ML fit; it raises `LowerOptimum` where a profile falls more
        than `tolerance` below the fit's deviance."""
        parameters = [*variance_parameters(ml), *fixed_effect_parameters(ml)]
        floor = ml.objective - tolerance
        traces = {p.name: Trace(p, ml.objective, floor) for p in parameters}
        return cls(ml, parameters, traces)

    def recentred(self, lower: LowerOptimum, tolerance: float) -> Profiler:
        """A profiler of the better ML fit minimized from the point `lower` found."""
        theta = lower.parameter.original_theta(lower.point.theta)
        return Profiler.at(self.fit.refit(start=theta), tolerance)

    def interval(self, parameter: Parameter, z: float) -> tuple[float, float, list[str]]:
        """The ends where ζ = −z and ζ = z, and what went wrong at each (if anything)."""
        trace = self.traces[parameter.name]
        se = dict(zip(self.fit.fixef_names, np.sqrt(np.diag(self.fit.vcov.to_numpy()))))
        step = initial_step(parameter, self.fit.sigma, se.get(parameter.name), z)
        ends, problems = [], []
        for target, label in ((-z, "lower"), (z, "upper")):
            end, problem = interval_end(trace, target, step)
            ends.append(end)
            if problem:
                problems.append(f"{label} end: {problem}")
        if trace.unconverged():
            problems.append(f"the optimizer did not converge at {trace.unconverged()}")
        return ends[0], ends[1], problems


Ends = dict[str, tuple[float, float, list[str]]]


def profile_all(fit: MixedFit, z: float, report: Progress) -> tuple[Profiler, Ends]:
    """Every parameter's ends (`Profiler.interval`), started over from a lower ML optimum
    whenever profiling finds one (at most `MAX_RECENTRES` times; then the last is kept)."""
    require_one_residual_sd(fit, "a likelihood profile")
    profiler = Profiler.of(fit, RECENTRE_TOL)
    recentres = 0
    while True:
        try:
            ends = {}
            for parameter in profiler.parameters:
                report(f"profiling {parameter.name}")
                ends[parameter.name] = profiler.interval(parameter, z)
            return profiler, ends
        except LowerOptimum as lower:
            gain = profiler.fit.objective - lower.point.deviance
            recentres += 1
            tolerance = RECENTRE_TOL if recentres < MAX_RECENTRES else np.inf
            profiler = profiler.recentred(lower, tolerance)
            warnings.warn(
                f"the ML fit is not at the maximum likelihood: profiling {lower.parameter.name} "
                f"found a deviance {gain:.3g} lower; the profiles are of that better optimum",
                ProfileWarning,
                stacklevel=5,
            )


def profile_intervals(
    fit: MixedFit, level: float, progress: Progress | None = None
) -> pd.DataFrame:
    """Profile-likelihood intervals for every parameter (variance scale first, then β).

    An end that cannot be found is NaN, with a `ProfileWarning` naming the parameter.
    `progress` is called with a message before each parameter (by default, written to stderr
    when it is a terminal).
    """
    z = float(norm_ppf(0.5 + level / 2))
    _, ends = profile_all(fit, z, progress or _stderr_progress)
    for name, (_, _, problems) in ends.items():
        if problems:
            message = f"profile of {name}: " + "; ".join(problems)
            warnings.warn(message, ProfileWarning, stacklevel=3)
    rows = {name: (lower, upper) for name, (lower, upper, _) in ends.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])


def _stderr_progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{message:60s}", end="", file=sys.stderr, flush=True)


def profiles(fit: MixedFit, level: float = 0.99, points: int = 9) -> dict[str, Profile]:
    """ζ of each parameter on `points` values across its `level` interval (lme4's profile);
    where an end is NaN, the grid stops at the farthest value profiled."""
    z = float(norm_ppf(0.5 + level / 2))
    profiler, ends = profile_all(fit, z, _stderr_progress)
    out = {}
    for name, (lower, upper, _) in ends.items():
        trace = profiler.traces[name]
        evaluated = np.array(list(trace.points))
        lower = evaluated.min() if np.isnan(lower) else lower
        upper = evaluated.max() if np.isnan(upper) else upper
        grid = np.linspace(lower, upper, points)
        out[name] = Profile(name, grid, np.array([trace.zeta(v) for v in grid]))
    return out
