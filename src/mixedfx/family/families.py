"""Response distributions of generalized linear (mixed) models, with R's conventions.

A family gives the variance function V(μ), the unit deviance (each row's contribution to the
deviance, the sum of squares' analogue that the Laplace criterion adds to the penalty) and the
default link; the two- and one-parameter exponential families of lme4's ``glmer``.  As in R,
prior weights multiply the unit deviances, and a binomial response is the proportion of
successes with the number of trials as its weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import special

from mixedfx.family.links import LINKS, Link


class Family(Protocol):
    """A response distribution with its canonical link."""

    @property
    def name(self) -> str:
        """R's name of the family."""
        ...

    @property
    def default_link(self) -> str:
        """The link lme4 uses when none is given."""
        ...

    def variance(self, mu: np.ndarray) -> np.ndarray:
        """V(μ): Var(y) / φ at mean μ."""
        ...

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Each row's weighted deviance contribution, R's ``dev.resids``; shape (n,)."""
        ...

    def start(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """R's ``mustart``: means inside the family's domain, near y; shape (n,)."""
        ...


def _y_log_y_over(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """y log(y / μ), 0 where y = 0 (its limit); the ratio first, as R's C code."""
    positive = y > 0
    return np.where(positive, y * np.log(np.where(positive, y, 1.0) / mu), 0.0)


@dataclass(frozen=True)
class Binomial:
    """Proportions y of weight-many trials, mean μ ∈ (0, 1); V(μ) = μ(1 − μ); φ = 1."""

    name: str = "binomial"
    default_link: str = "logit"

    def start(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return (wt * y + 0.5) / (wt + 1.0)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return mu * (1.0 - mu)

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return 2.0 * wt * (_y_log_y_over(y, mu) + _y_log_y_over(1.0 - y, 1.0 - mu))

    def aic(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """−2 Σ log p(wᵢyᵢ successes of wᵢ trials; μᵢ), R's ``binomial()$aic`` with the
        weights the numbers of trials."""
        trials = np.round(wt)
        successes = np.round(wt * y)
        log_density = (
            special.gammaln(trials + 1.0)
            - special.gammaln(successes + 1.0)
            - special.gammaln(trials - successes + 1.0)
            + special.xlogy(successes, mu)
            + special.xlog1py(trials - successes, -mu)
        )
        return -2.0 * float(np.sum(np.where(trials > 0, log_density, 0.0)))


@dataclass(frozen=True)
class Poisson:
    """Counts with mean μ > 0; V(μ) = μ; φ = 1."""

    name: str = "poisson"
    default_link: str = "log"

    def start(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return y + 0.1

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return np.asarray(mu, dtype=float)

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return 2.0 * wt * (_y_log_y_over(y, mu) - (y - mu))

    def aic(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """−2 Σ wᵢ log p(yᵢ; μᵢ), R's ``poisson()$aic``."""
        return -2.0 * float(np.sum(wt * (special.xlogy(y, mu) - mu - special.gammaln(y + 1.0))))


@dataclass(frozen=True)
class Gamma:
    """Positive responses with mean μ and shape 1/φ; V(μ) = μ²."""

    name: str = "Gamma"
    default_link: str = "inverse"

    def start(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=float)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return mu**2

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        ratio = np.where(y == 0, 1.0, y / mu)
        return -2.0 * wt * (np.log(ratio) - (y - mu) / mu)

    def aic(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """R's ``Gamma()$aic``: −2 log-likelihood at the shape from the mean deviance, + 2."""
        dispersion = float(np.sum(self.unit_deviance(y, mu, wt)) / np.sum(wt))
        shape = 1.0 / dispersion
        scale = mu * dispersion
        log_density = (
            (shape - 1.0) * np.log(y) - y / scale - special.gammaln(shape) - shape * np.log(scale)
        )
        return -2.0 * float(np.sum(wt * log_density)) + 2.0


@dataclass(frozen=True)
class InverseGaussian:
    """Positive responses with mean μ and dispersion φ; V(μ) = μ³."""

    name: str = "inverse.gaussian"
    default_link: str = "1/mu^2"

    def start(self, y: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=float)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        return mu**3

    def unit_deviance(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        return wt * (y - mu) ** 2 / (y * mu**2)

    def aic(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
        """R's ``inverse.gaussian()$aic``, φ from the mean deviance."""
        total = float(np.sum(wt))
        dispersion = float(np.sum(self.unit_deviance(y, mu, wt))) / total
        return (
            total * (np.log(dispersion * 2.0 * np.pi) + 1.0)
            + 3.0 * float(np.sum(np.log(y) * wt))
            + 2.0
        )


FAMILIES: dict[str, Family] = {
    family.name: family for family in (Binomial(), Poisson(), Gamma(), InverseGaussian())
}


def link_of(family: Family, link: str | None) -> Link:
    """The named link, or the family's default.

    Raises
    ------
    ValueError
        For a link that is not one of `LINKS`.
    """
    name = family.default_link if link is None else link
    if name not in LINKS:
        raise ValueError(f"link {name!r} is not one of {sorted(LINKS)}")
    return LINKS[name]
