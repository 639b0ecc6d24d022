"""The fit of a generalized linear mixed model by the Laplace approximation (lme4's ``glmer``).

As lme4 does, in two stages: θ alone with β found inside PIRLS (nAGQ = 0), then (θ, β) together
from there, PIRLS finding u alone (nAGQ = 1, the Laplace approximation proper).  Each
evaluation runs PIRLS (`mixedfx.models.pirls`), from the previous evaluation's linear
predictor, as lme4 keeps its modes; its gradient is taken by central differences until the
exact one, through the working cross-products, is built, so the optimizer is BOBYQA, which
does not need it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mixedfx.data.design import Design
from mixedfx.family.families import Family
from mixedfx.family.links import Link
from mixedfx.models.pirls import PirlsFit, pirls
from mixedfx.optimize import OptimizerOptions, OptSummary, minimize_theta
from mixedfx.pls.covariance import ThetaLayout

# Central-difference step of the gradient, in each entry's units.
STEP = 1e-5


class LaplaceObjective:
    """x ↦ the Laplace deviance for the optimizers: x = θ (β found by PIRLS) or x = (θ, β).

    Parameters
    ----------
    design, family, link
        The model.
    with_beta
        Whether x holds β after θ.
    """

    def __init__(self, design: Design, family: Family, link: Link, with_beta: bool):
        self.design, self.family, self.link = design, family, link
        self.layout = ThetaLayout.of(tuple(t.k for t in design.terms))
        self.with_beta = with_beta
        self.evaluations = 0
        self._eta: np.ndarray | None = None  # the last evaluation's, where the next starts

    @property
    def blas_threads(self) -> int | None:
        return 1  # small dense steps: one thread has the lower fixed cost

    def evaluate(self, x: np.ndarray) -> PirlsFit:
        """PIRLS at x."""
        self.evaluations += 1
        theta = x[: self.layout.size]
        beta = x[self.layout.size :] if self.with_beta else None
        fit = pirls(self.design, self.family, self.link, theta, beta, self._eta)
        self._eta = fit.eta
        return fit

    def __call__(self, x: np.ndarray) -> float:
        try:
            return self.evaluate(np.asarray(x, dtype=float)).deviance
        except FloatingPointError:
            return np.inf

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The deviance and its gradient by central differences (2 dim(x) PIRLS runs)."""
        x = np.asarray(x, dtype=float)
        steps = STEP * np.maximum(np.abs(x), 1.0)
        gradient = np.array(
            [(self(x + h * e) - self(x - h * e)) / (2 * h) for h, e in zip(steps, np.eye(x.size))]
        )
        return self(x), gradient

    def flat_bounds(self, x: np.ndarray) -> np.ndarray:
        flat = self.layout.flat_bounds(x[: self.layout.size])
        return np.concatenate([flat, np.zeros(x.size - flat.size, dtype=bool)])

    def scale(self, x: np.ndarray) -> np.ndarray:
        return np.ones_like(x)

    def lower_bounds(self, p: int) -> np.ndarray:
        extra = np.full(p if self.with_beta else 0, -np.inf)
        return np.concatenate([self.layout.lower_bounds(), extra])


@dataclass(frozen=True)
class GlmmEstimate:
    """The optimum of the Laplace deviance.

    Attributes
    ----------
    theta, beta
        The estimates.
    fit
        PIRLS at the estimates: the conditional modes, μ and the deviance.
    optinfo
        The last stage's optimizer record.
    """

    theta: np.ndarray
    beta: np.ndarray
    fit: PirlsFit
    optinfo: OptSummary


def fit_glmm(
    design: Design, family: Family, link: Link, nagq: int, options: OptimizerOptions
) -> GlmmEstimate:
    """θ̂ (and β̂) by lme4's two stages; `nagq` 0 stops after the first."""
    bobyqa = replace(options, method="bobyqa")
    first = LaplaceObjective(design, family, link, with_beta=False)
    layout = first.layout
    stage = minimize_theta(first, layout.initial(), first.lower_bounds(design.p), bobyqa)
    fit = first.evaluate(stage.final)
    if nagq == 0:
        return GlmmEstimate(stage.final, fit.solution.beta, fit, stage)
    second = LaplaceObjective(design, family, link, with_beta=True)
    x0 = np.concatenate([stage.final, fit.solution.beta])
    stage = minimize_theta(second, x0, second.lower_bounds(design.p), bobyqa)
    theta, beta = stage.final[: layout.size], stage.final[layout.size :]
    return GlmmEstimate(theta, beta, second.evaluate(stage.final), stage)
