"""Checks at fit time: before the optimizer runs, on the design, and after, on the optimum.

* Predictors on very different scales: lme4's ``check.scaleX`` warning, with its rule.
* Two random-effects terms that group the same rows by the same covariates: only the sum of
  their covariances is identifiable, and the split between them is arbitrary (lme4 reaches
  such an optimum with a "degenerate Hessian" convergence warning).
* A response fitted exactly.  The profiled deviance holds ν log r², with r² the last pivot
  of the Cholesky factor: yᵀy less the squares of y's projections.  That subtraction leaves
  rounding of the order ε yᵀy in r², so the deviance is uncertain by about ν ε yᵀy / r²
  (`deviance_rounding`).  A y that the fixed effects, or the fixed and random effects, fit
  exactly makes r² (nearly) zero: the likelihood then has no maximum (it grows without
  bound as σ → 0), and the estimates are rounding noise.  lme4 returns them with
  convergence warnings; mixedfx stops with a `DataError` that says what is wrong.  The same
  bound on the rounding catches a response whose mean dwarfs its variation (1e6 ± 1), whose
  cross-products hold too few digits of it.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from mixedfx.crossprod.products import CrossProducts
from mixedfx.data.design import Design
from mixedfx.data.random import RandomTerm
from mixedfx.errors import DataError, IdentifiabilityWarning, PredictorScaleWarning
from mixedfx.pls.cholesky import BlockedCholesky
from mixedfx.pls.start import ordinary_least_squares

EPS = float(np.finfo(float).eps)

# The largest rounding error of the deviance at which estimates are still reported.  At 1e-3
# the estimates keep about three digits; beyond, the residual variance is below what the
# cross-products resolve.
ROUNDING_LIMIT = 1e-3

# A residual sum of squares above this fraction of y's sum of squares about its mean is no
# exact fit: where the deviance is still too uncertain, y's mean took the digits.
EXACT = 1e-6

# lme4's check.scaleX: standard deviations beyond this factor from 1, or from each other
SCALE_TOL = 1e3


def check_design(design: Design) -> None:
    """The warnings about a design that lme4 gives, or that would explain a poor fit.

    Warns
    -----
    PredictorScaleWarning
        Some fixed-effect covariates have standard deviations more than a factor 1000 from 1
        or from each other (lme4's rule, its 0/1 columns left out).
    IdentifiabilityWarning
        Two terms group the same rows and share covariates (``(1 | g) + (1 | g)``).
    """
    _check_scales(design.fixed.X, design.fixed.names)
    for a, b in itertools.combinations(design.terms, 2):
        if _same_groups(a, b) and _shared_covariates(a, b):
            warnings.warn(
                f"the random-effects terms {_label(a)} and {_label(b)} group the same rows and "
                "share covariates, so only the sum of their covariances is identifiable and "
                "the split between them is arbitrary; combine them into one term",
                IdentifiabilityWarning,
                stacklevel=3,
            )


def _check_scales(X: np.ndarray, names: tuple[str, ...]) -> None:
    continuous = [j for j in range(X.shape[1]) if not np.all((X[:, j] == 0) | (X[:, j] == 1))]
    if len(X) < 2 or not continuous:
        return
    sd = X[:, continuous].std(axis=0, ddof=1)
    varying = sd > 0  # a constant column is an intercept's, not a scale problem
    log_sd = np.log(sd[varying])
    if log_sd.size and (
        np.max(np.abs(log_sd)) > np.log(SCALE_TOL) or np.ptp(log_sd) > np.log(SCALE_TOL)
    ):
        listed = ", ".join(f"{names[j]} {s:.3g}" for j, s, v in zip(continuous, sd, varying) if v)
        warnings.warn(
            "Some predictor variables are on very different scales: consider rescaling "
            f"(standard deviations: {listed}); the optimizer and the singular-fit test work "
            "best with predictors of standard deviation near 1",
            PredictorScaleWarning,
            stacklevel=4,
        )


def _same_groups(a: RandomTerm, b: RandomTerm) -> bool:
    """Whether the two grouping factors partition the rows the same way (labels aside)."""
    if a.nlevels != b.nlevels:
        return False
    pairs = a.factor.refs.astype(np.int64) * b.nlevels + b.factor.refs
    return bool(np.unique(pairs).size == a.nlevels)


def _shared_covariates(a: RandomTerm, b: RandomTerm) -> bool:
    """Whether the terms' covariates together have fewer dimensions than columns."""
    return bool(np.linalg.matrix_rank(np.hstack([a.z, b.z])) < a.k + b.k)


def _label(term: RandomTerm) -> str:
    """lme4's spelling of the term: ``(1 + x | g)``."""
    names = ("1" if name == "(Intercept)" else name for name in term.names)
    return f"({' + '.join(names)} | {term.factor.name})"


def deviance_rounding(yty: float, rss: float, nu: int) -> float:
    """About how much rounding moves the profiled deviance where r² = `rss`: ν ε yᵀy / r²
    (inf where r² ≤ 0)."""
    return nu * EPS * yty / rss if rss > 0 else np.inf


def check_fixed_effects_residual(A: CrossProducts, y: np.ndarray) -> None:
    """Raise `DataError` when the fixed effects alone fit y to within rounding.

    Then r² is (nearly) zero at every θ and no evaluation of the deviance means anything.
    """
    rss = ordinary_least_squares(A)[1]
    _check_residual(A, y, rss, A.n - A.p, "the fixed effects")


def check_optimum_residual(
    chol: BlockedCholesky | None, A: CrossProducts, y: np.ndarray, nu: int
) -> None:
    """Raise `DataError` when at the optimum's factor (None: not positive definite) the
    penalized residual sum of squares is zero to within rounding, with ν = n (ML) or n − p."""
    rss = 0.0 if chol is None else chol.pwrss
    _check_residual(A, y, rss, nu, "the fixed and random effects")


def _check_residual(A: CrossProducts, y: np.ndarray, rss: float, nu: int, what: str) -> None:
    yty = float(A.R[-1, -1])
    rounding = deviance_rounding(yty, rss, nu)
    if rounding <= ROUNDING_LIMIT:
        return
    if np.ptp(y) == 0:
        raise DataError(
            f"the response is constant (every value is {y[0]:.6g}): there is no variation for "
            "a model to explain; check that the right column is the response"
        )
    spread = float(np.sum((y - y.mean()) ** 2))
    if rss > EXACT * spread:  # far from exact: the digits went to y's mean
        raise DataError(
            f"the response has a large constant part (mean {y.mean():.6g}, standard deviation "
            f"{np.std(y):.3g}), so its cross-products keep too few digits of its variation "
            f"(the deviance would be uncertain by ±{rounding:.2g}); subtract a constant from "
            "it (its mean, say) before fitting"
        )
    size = (
        "zero"
        if rss <= 0
        else f"{rss:.3g}, {rss / yty:.2g} of Σy², which leaves the deviance uncertain by "
        f"±{rounding:.2g}"
    )
    raise DataError(
        f"{what} fit the response exactly, to the precision of the computation (the residual "
        f"sum of squares is {size}), so the residual variance cannot be estimated: the "
        "likelihood grows without bound as it shrinks; check that the response is not "
        "computed from the predictors or constant within groups"
    )
