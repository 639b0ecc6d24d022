"""Penalized iteratively reweighted least squares: the conditional modes of a generalized
linear mixed model at given θ, and its Laplace deviance.

For a family with link g, each iteration at the linear predictor η = Xβ + ZΛu + offset forms
the working weights wᵢ = w⁰ᵢ (dμ/dη)²/V(μ) and the working response zᵢ = ηᵢ + (yᵢ − μᵢ) dη/dμ,
and solves the penalized weighted least squares problem

    min over (β, u) of  Σᵢ wᵢ (zᵢ − offsetᵢ − xᵢβ − zᵢᵀΛu)² + ‖u‖²

with the linear mixed model's machinery on the cross-products of the reweighted rows (each
iteration reruns the cross-product stage: the weights change with μ).  It stops when the
penalized deviance Σ d(yᵢ, μᵢ) + ‖u‖² stops decreasing, halving steps that increase it.  At
the solution lme4's Laplace approximation to −2 log L is

    d(θ) = −2 Σᵢ log p(yᵢ | μᵢ) + ‖u‖² + log|ΛᵀZᵀWZΛ + I|,

the conditional log-likelihood (the family's ``aic`` term), the penalty and the log-determinant
at the final weights (Bates et al., lme4's ``glmer``; MixedModels.jl's ``pirls!``).  β is found
with u (lme4's ``nAGQ = 0``) or held at given values (``nAGQ = 1``: the optimizer moves β with
θ, and PIRLS finds u alone, with Xβ in the offset).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mixedfx.crossprod.products import cross_products
from mixedfx.data.design import Design
from mixedfx.family.families import Family
from mixedfx.family.links import Link
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import ML
from mixedfx.pls.deviance import ProfiledDeviance
from mixedfx.pls.solution import Solution, solve

# Relative change of the penalized deviance below which the iterations stop.
TOLERANCE = 1e-12
MAX_ITERATIONS = 100
MAX_HALVINGS = 30


@dataclass(frozen=True)
class PirlsFit:
    """The conditional modes at θ and the Laplace deviance there.

    Attributes
    ----------
    solution
        β̂ and the conditional modes (b and u).
    eta, mu
        Shape (n,): the linear predictor and the mean.
    deviance
        The Laplace approximation to −2 log L at θ.
    iterations
        PIRLS iterations.
    converged
        Whether the penalized deviance settled within `TOLERANCE`.
    """

    solution: Solution
    eta: np.ndarray
    mu: np.ndarray
    deviance: float
    iterations: int
    converged: bool


def pirls(
    design: Design,
    family: Family,
    link: Link,
    theta: np.ndarray,
    beta: np.ndarray | None = None,
    eta: np.ndarray | None = None,
) -> PirlsFit:
    """The conditional modes at θ by PIRLS, with β (lme4's nAGQ = 0) or at a given `beta`
    (nAGQ = 1, where the optimizer moves β with θ), and the Laplace deviance (module notes).

    Parameters
    ----------
    design
        y (a proportion for the binomial, with the numbers of trials as the weights), X, the
        terms, an offset and the prior weights.
    family, link
        The response distribution and its link.
    theta
        The relative covariance factors, lme4's order.
    beta
        Shape (p,): fixed effects held at these values (Xβ joins the offset), or None to
        find them with the modes.
    eta
        Shape (n,): where to start, a nearby evaluation's linear predictor (an optimizer's
        previous point); by default R's ``mustart`` from y.
    """
    if beta is not None:
        held = pirls(_held(design, beta), family, link, theta, eta=eta)
        return _with_fixed_effects(held, beta)
    prior = np.ones(design.n) if design.weights is None else design.weights
    y = design.y
    if eta is None:
        eta = link.link(family.start(y, prior))
    previous = np.inf
    step: tuple[Solution, np.ndarray, float] | None = None
    converged, iterations = False, 0
    templates = ThetaLayout.of(tuple(t.k for t in design.terms)).templates(theta)
    while iterations < MAX_ITERATIONS:
        iterations += 1
        solution = _pwls(design, family, link, prior, eta, theta)
        new_eta = design.linear_predictor(solution.beta, solution.b)
        value = _penalized(family, link, y, prior, new_eta, solution)
        halvings = 0
        while value > previous and halvings < MAX_HALVINGS and step is not None:
            solution = _halfway(step[0], solution, templates)
            new_eta = design.linear_predictor(solution.beta, solution.b)
            value = _penalized(family, link, y, prior, new_eta, solution)
            halvings += 1
        step, eta = (solution, new_eta, value), new_eta
        if abs(previous - value) <= TOLERANCE * (abs(value) + 1.0):
            converged = True
            break
        previous = value
    assert step is not None
    solution, eta, _ = step
    mu = link.inverse(eta)
    weights = _working_weights(family, link, prior, eta)
    chol = ProfiledDeviance(cross_products(replace(design, weights=weights)), ML()).factor(theta)
    assert chol is not None  # ΛᵀZᵀWZΛ + I is positive definite for positive weights
    deviance = family.aic(y, mu, prior) + penalty(solution) + chol.logdet_Z  # type: ignore[attr-defined]
    return PirlsFit(solution, eta, mu, float(deviance), iterations, converged)


def _held(design: Design, beta: np.ndarray) -> Design:
    """The design without fixed-effect columns, Xβ added to its offset."""
    fixed = replace(design.fixed, X=design.fixed.X[:, :0])
    known = replace(design.offset, values=design.offset.values + design.fixed.X @ beta, given=True)
    return replace(design, fixed=fixed, offset=known)


def _with_fixed_effects(fit: PirlsFit, beta: np.ndarray) -> PirlsFit:
    """A fit on `_held`'s design with the held β in its solution."""
    solution = replace(fit.solution, beta=np.asarray(beta, dtype=float))
    return replace(fit, solution=solution)


def _working_weights(
    family: Family, link: Link, prior: np.ndarray, eta: np.ndarray
) -> np.ndarray:
    return prior * link.mu_eta(eta) ** 2 / family.variance(link.inverse(eta))


def _pwls(
    design: Design,
    family: Family,
    link: Link,
    prior: np.ndarray,
    eta: np.ndarray,
    theta: np.ndarray,
) -> Solution:
    """The penalized weighted least squares solution at the working weights and response of η."""
    mu, derivative = link.inverse(eta), link.mu_eta(eta)
    z = eta + (design.y - mu) / derivative  # the offset stays in z: y − offset is fitted
    weights = _working_weights(family, link, prior, eta)
    A = cross_products(replace(design, y=z, weights=weights))
    chol = ProfiledDeviance(A, ML()).factor(theta)
    if chol is None:
        raise FloatingPointError(f"the working system is not positive definite at θ = {theta}")
    return solve(chol, A)


def penalty(solution: Solution) -> float:
    """‖u‖², the penalty of the penalized least squares problem."""
    return sum(float(np.sum(u**2)) for u in solution.u)


def _penalized(
    family: Family,
    link: Link,
    y: np.ndarray,
    prior: np.ndarray,
    eta: np.ndarray,
    solution: Solution,
) -> float:
    """Σ d(yᵢ, μᵢ) + ‖u‖²: what PIRLS decreases."""
    deviance = float(np.sum(family.unit_deviance(y, link.inverse(eta), prior)))
    return deviance + penalty(solution)


def _halfway(old: Solution, new: Solution, templates: list[np.ndarray]) -> Solution:
    """The midpoint of two solutions in (β, u), b following u."""
    u = [(a + b) / 2 for a, b in zip(old.u, new.u)]
    b = [uj @ T.T for uj, T in zip(u, templates)]
    return Solution((old.beta + new.beta) / 2, b, u)
