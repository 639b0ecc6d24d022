"""The parameters a likelihood profile holds fixed, one at a time, and how.

Each parameter knows its estimate and bounds, the deviance over the other parameters with it
held at a value (a `Restricted` objective, see `mixedfx.inference.restricted`), and how to
start that minimization from an optimum found at a neighbouring value.  SDs and correlations
are profiled in a model whose term has its coefficients reordered (the SD's coefficient first,
the correlation's two first and second), so each has its own θ layout; `original_theta`
maps back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from mixedfx.inference.protocol import MixedFit
from mixedfx.inference.restricted import (
    FixedSigma,
    Restricted,
    SigmaOfSD,
    offset_cross_products,
    reordered_cross_products,
    reordered_theta,
)
from mixedfx.pls.covariance import sdcor_vector
from mixedfx.pls.criterion import ML
from mixedfx.pls.deviance import ProfiledDeviance

# An SD's restriction keeps σ = sd / θ_j below this multiple of σ̂ (θ_j's lower bound).
SIGMA_RANGE = 1e6


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

    fit: MixedFit
    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    members: tuple[tuple[int, tuple[int, ...]] | None, ...]

    @classmethod
    def of(cls, fit: MixedFit) -> VarianceScale:
        names: list[str] = []
        members: list[tuple[int, tuple[int, ...]] | None] = []
        for t, (group, coefs) in enumerate(zip(fit.group_names, fit.term_names)):
            k = len(coefs)
            names += [f"sd({name}|{group})" for name in coefs]
            members += [(t, (a,)) for a in range(k)]
            pairs = [(a, b) for b in range(k) for a in range(b + 1, k)]
            names += [f"cor({coefs[a]},{coefs[b]}|{group})" for a, b in pairs]
            members += [(t, (b, a)) for a, b in pairs]
        names.append("sigma")
        members.append(None)
        lows = np.array([0.0 if m is None or len(m[1]) == 1 else -1.0 for m in members])
        return cls(fit, tuple(names), lows, np.where(lows < 0, 1.0, np.inf), tuple(members))

    def estimate(self) -> np.ndarray:
        """ψ̂ of the fit: standard deviations, correlations (0 where undefined), σ."""
        return np.nan_to_num(sdcor_vector(self.fit.covariances, self.fit.sigma))


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

    @property
    def name(self) -> str: ...

    @property
    def estimate(self) -> float: ...

    @property
    def lower(self) -> float: ...

    @property
    def upper(self) -> float: ...

    @property
    def centre(self) -> Point:
        """The ML estimate, in the parameter's layout."""
        ...

    def restricted(self, value: float) -> Restricted:
        """The deviance over the other parameters with this one at `value`."""
        ...

    def start(self, value: float, point: Point) -> np.ndarray:
        """The free parameters of `restricted(value)` nearest to `point`."""
        ...

    def original_theta(self, theta: np.ndarray) -> np.ndarray:
        """θ of the parameter's layout in the fit's layout."""
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

    def original_theta(self, theta: np.ndarray) -> np.ndarray:
        return theta


@dataclass(frozen=True)
class FixedEffectParameter:
    """β_j: x_j β_j moved into the response, the deviance over all of θ."""

    name: str
    estimate: float
    centre: Point
    fit: MixedFit
    j: int
    lower: float = -np.inf
    upper: float = np.inf

    def restricted(self, value: float) -> Restricted:
        objective = self.fit.deviance_function(
            offset_cross_products(self.fit.A, self.j, value), ML()
        )
        layout = self.fit.layout
        return Restricted(objective, np.eye(layout.size), layout.lower_bounds(), None)

    def start(self, value: float, point: Point) -> np.ndarray:
        return point.theta

    def original_theta(self, theta: np.ndarray) -> np.ndarray:
        return theta


R = TypeVar("R", bound="ReorderedTerm")


@dataclass(frozen=True)
class ReorderedTerm:
    """A parameter of one term, profiled in the model with that term's coefficients in
    `order` (those the parameter concerns first).

    Attributes
    ----------
    name, estimate
        The parameter's name and ML estimate.
    centre
        The ML estimate in the reordered layout.
    objective
        The reordered model's ML deviance.
    term, order
        The term and its coefficients' new order.
    """

    name: str
    estimate: float
    centre: Point
    objective: ProfiledDeviance
    term: int
    order: np.ndarray

    @classmethod
    def of(
        cls: type[R],
        ml: MixedFit,
        name: str,
        estimate: float,
        term: int,
        first: tuple[int, ...],
    ) -> R:
        """The parameter `name` of `term`, whose coefficients `first` come first."""
        k = ml.layout.ks[term]
        order = np.array([*first, *(c for c in range(k) if c not in first)])
        A = reordered_cross_products(ml.A, term, order)
        theta = reordered_theta(ml.theta, ml.layout, term, order)
        objective = ml.deviance_function(A, ML())
        return cls(name, estimate, _centre(ml, theta), objective, term, order)

    @property
    def j(self) -> int:
        """θ index of the reordered template's first diagonal entry."""
        return self.objective.layout.offsets[self.term]

    def original_theta(self, theta: np.ndarray) -> np.ndarray:
        return reordered_theta(theta, self.objective.layout, self.term, np.argsort(self.order))


@dataclass(frozen=True)
class SDParameter(ReorderedTerm):
    """The SD of one coefficient, first in its reordered term: σ θ_j = value (σ ↦ value/θ_j),
    or θ_j = 0 with σ profiled out at value 0."""

    lower: float = 0.0
    upper: float = np.inf

    def restricted(self, value: float) -> Restricted:
        layout = self.objective.layout
        lower = layout.lower_bounds()
        if value > 0:
            lower[self.j] = value / (SIGMA_RANGE * self.centre.sigma)
            return Restricted(self.objective, np.eye(layout.size), lower, SigmaOfSD(value, self.j))
        keep = np.arange(layout.size) != self.j
        return Restricted(self.objective, np.eye(layout.size)[:, keep], lower[keep], None)

    def start(self, value: float, point: Point) -> np.ndarray:
        if value > 0:
            x = point.theta.copy()
            x[self.j] = value / point.sigma  # σ as at `point`
            return x
        return np.delete(point.theta, self.j)


@dataclass(frozen=True)
class CorParameter(ReorderedTerm):
    """The correlation ρ of two coefficients, first and second in their reordered term: the
    template's rows (θ_j, 0, …) and s (ρ, √(1 − ρ²), 0, …), with s ≥ 0 free."""

    lower: float = -1.0
    upper: float = 1.0

    @property
    def _second_row(self) -> tuple[int, int]:
        """θ indices of the template's entries (1, 0) and (1, 1)."""
        return self.j + 1, self.j + len(self.order)

    def restricted(self, value: float) -> Restricted:
        layout = self.objective.layout
        j10, j11 = self._second_row
        keep = np.arange(layout.size) != j10
        E = np.eye(layout.size)[:, keep]
        s = int(np.sum(keep[:j11]))  # the free parameter s, in θ_11's place
        E[j10, s], E[j11, s] = value, np.sqrt(max(1.0 - value**2, 0.0))
        return Restricted(self.objective, E, layout.lower_bounds()[keep], None)

    def start(self, value: float, point: Point) -> np.ndarray:
        j10, j11 = self._second_row
        x = point.theta.copy()
        x[j11] = np.hypot(x[j10], x[j11])
        return np.delete(x, j10)


def variance_parameters(ml: MixedFit) -> list[Parameter]:
    """lme4's variance parameters of an ML fit, in `VarianceScale` order."""
    scale = VarianceScale.of(ml)
    out: list[Parameter] = []
    for name, estimate, member in zip(scale.names, scale.estimate(), scale.members):
        if member is None:
            centre = _centre(ml, ml.theta)
            out.append(SigmaParameter(name, estimate, centre, ml.deviance_function(criterion=ML())))
        elif len(member[1]) == 1:
            out.append(SDParameter.of(ml, name, estimate, *member))
        else:
            out.append(CorParameter.of(ml, name, estimate, *member))
    return out


def _centre(ml: MixedFit, theta: np.ndarray) -> Point:
    return Point(theta, ml.sigma, ml.objective)


def fixed_effect_parameters(ml: MixedFit) -> list[Parameter]:
    """The fixed effects of an ML fit."""
    beta = ml.fixef.to_numpy()
    return [
        FixedEffectParameter(name, float(beta[j]), _centre(ml, ml.theta), ml, j)
        for j, name in enumerate(ml.fixef_names)
    ]
