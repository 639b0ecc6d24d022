"""Link functions η = g(μ) of generalized linear (mixed) models, with R's conventions.

Each link gives g, its inverse and dμ/dη, the three that penalized iteratively reweighted
least squares needs (working response z = η + (y − μ) dη/dμ, working weight
(dμ/dη)² / V(μ)).  Where the inverse saturates in floating point, R's ``make.link`` keeps μ
inside the open interval and dμ/dη at least machine epsilon, so that the working weights
stay finite and positive; these follow the same rules, so that fits agree with lme4's
digit for digit where they are decided there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import special

EPS = float(np.finfo(float).eps)
# R's logit thresholds (family.c): beyond ±30 the inverse is held at ε or 1/ε's odds
THRESH = 30.0
MTHRESH = -30.0
INVEPS = 1.0 / EPS


class Link(Protocol):
    """η = g(μ) with its inverse and derivative."""

    @property
    def name(self) -> str:
        """R's name of the link."""
        ...

    def link(self, mu: np.ndarray) -> np.ndarray:
        """g(μ)."""
        ...

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        """μ = g⁻¹(η)."""
        ...

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """dμ/dη at η."""
        ...


@dataclass(frozen=True)
class Logit:
    name: str = "logit"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return special.logit(mu)

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        odds = np.where(eta < MTHRESH, EPS, np.where(eta > THRESH, INVEPS, np.exp(eta)))
        return odds / (1.0 + odds)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        outside = (eta > THRESH) | (eta < MTHRESH)
        inside = np.exp(np.clip(eta, MTHRESH, THRESH))
        return np.where(outside, EPS, inside / (1.0 + inside) ** 2)


@dataclass(frozen=True)
class Probit:
    name: str = "probit"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return special.ndtri(mu)

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        bound = -float(special.ndtri(EPS))
        return special.ndtr(np.clip(eta, -bound, bound))

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(-0.5 * eta**2) / np.sqrt(2.0 * np.pi), EPS)


@dataclass(frozen=True)
class Cloglog:
    name: str = "cloglog"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.log(-np.log1p(-mu))

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return np.clip(-np.expm1(-np.exp(eta)), EPS, 1.0 - EPS)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        eta = np.minimum(eta, 700.0)
        return np.maximum(np.exp(eta) * np.exp(-np.exp(eta)), EPS)


@dataclass(frozen=True)
class Cauchit:
    name: str = "cauchit"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.tan(np.pi * (mu - 0.5))

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        bound = -np.tan(np.pi * (EPS - 0.5))
        return 0.5 + np.arctan(np.clip(eta, -bound, bound)) / np.pi

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return np.maximum(1.0 / (np.pi * (1.0 + eta**2)), EPS)


@dataclass(frozen=True)
class Log:
    name: str = "log"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.log(mu)

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(eta), EPS)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return np.maximum(np.exp(eta), EPS)


@dataclass(frozen=True)
class Identity:
    name: str = "identity"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.asarray(mu, dtype=float)

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return np.asarray(eta, dtype=float)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return np.ones_like(eta, dtype=float)


@dataclass(frozen=True)
class Sqrt:
    name: str = "sqrt"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return np.sqrt(mu)

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return eta**2

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return 2.0 * eta


@dataclass(frozen=True)
class Inverse:
    name: str = "inverse"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return 1.0 / mu

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return 1.0 / eta

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return -1.0 / eta**2


@dataclass(frozen=True)
class InverseSquare:
    name: str = "1/mu^2"

    def link(self, mu: np.ndarray) -> np.ndarray:
        return 1.0 / mu**2

    def inverse(self, eta: np.ndarray) -> np.ndarray:
        return 1.0 / np.sqrt(eta)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        return -1.0 / (2.0 * eta**1.5)


LINKS: dict[str, Link] = {
    link.name: link
    for link in (
        Logit(),
        Probit(),
        Cloglog(),
        Cauchit(),
        Log(),
        Identity(),
        Sqrt(),
        Inverse(),
        InverseSquare(),
    )
}
