"""Simulation from a fitted model and the parametric bootstrap (lme4's ``simulate`` and
``bootMer``; pbkrtest's ``PBmodcomp``).

A refit on a simulated response reuses the model's structure: Z and X do not change, so of
the cross-products only those with y are recomputed (Zᵀy*, Xᵀy*, y*ᵀy*: one pass over the
rows), and the optimizer starts from θ̂.  Replicate i draws from its own random stream,
spawned from the seed, so the result does not depend on how replicates are shared among
processes.  An interrupt (Ctrl-C) stops the run at once and returns the replicates completed,
with a warning saying how many.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mixedfx.crossprod.products import CrossProducts, term_matrix
from mixedfx.errors import InterruptedBootstrapWarning
from mixedfx.inference.profile import VarianceScale
from mixedfx.models.estimate import MixedEstimate
from mixedfx.models.lmm import LinearMixedModel
from mixedfx.pls.covariance import sdcor_vector
from mixedfx.pls.criterion import ML, Criterion

Progress = Callable[[int, int], None]


def simulate(fit: LinearMixedModel, nsim: int = 1, seed: int | None = None) -> np.ndarray:
    """Responses drawn from the fitted model, new random effects each time.

    Returns
    -------
    ndarray
        Shape (n, nsim): y* = offset + Xβ̂ + Zb* + ε*, b* ~ N(0, σ̂²ΛΛᵀ), ε* ~ N(0, σ̂² I).
    """
    streams = np.random.SeedSequence(seed).spawn(nsim)
    draws = [draw_response(fit, np.random.default_rng(s)) for s in streams]
    return np.column_stack(draws) + fit.design.offset.values[:, None]


def draw_response(fit: LinearMixedModel, rng: np.random.Generator) -> np.ndarray:
    """One simulated response less the offset (what the cross-products hold as y), shape (n,)."""
    y = fit.design.fixed.X @ fit.fixef.to_numpy()
    for term, T in zip(fit.design.terms, fit.layout.templates(fit.theta)):
        b = fit.sigma * rng.standard_normal((term.nlevels, term.k)) @ T.T
        y = y + np.einsum("ik,ik->i", term.z, b[term.factor.refs])
    return y + fit.sigma * rng.standard_normal(fit.nobs)


@dataclass(frozen=True)
class Refitter:
    """Refits a model to new responses from its cross-products (the rows' Z and X fixed)."""

    fit: LinearMixedModel
    Z1: sp.csr_matrix
    W: sp.csr_matrix

    @classmethod
    def of(cls, fit: LinearMixedModel) -> Refitter:
        first, rest = fit.design.terms[0], fit.design.terms[1:]
        columns = [*(term_matrix(t) for t in rest), sp.csr_matrix(fit.design.fixed.X)]
        return cls(fit, term_matrix(first).tocsr(), sp.hstack(columns, format="csr"))

    def cross_products(self, y: np.ndarray) -> CrossProducts:
        """A with the y row and column replaced by those of `y` (nothing else changes)."""
        A = self.fit.A
        R = A.R.copy()
        Wy = self.W.T @ y
        R[:-1, -1] = R[-1, :-1] = Wy
        R[-1, -1] = y @ y
        return replace(A, B=A.B.with_last_row(np.asarray(self.Z1.T @ y)), R=R)

    def _refit(self, y: np.ndarray, criterion: Criterion | None = None) -> MixedEstimate:
        """The model refitted to the response `y`, from θ̂ and the Hessian there."""
        return self.fit.estimate.refit(self.cross_products(y), criterion)

    def ml_deviance(self, y: np.ndarray) -> float:
        """The minimized ML deviance of the model refitted by ML to `y`."""
        return self._refit(y, ML()).objective

    def refit(self, y: np.ndarray) -> np.ndarray:
        """Parameters of the refit: fixed effects, then the variance scale (sd, cor, σ)."""
        estimate = self._refit(y)
        psi = sdcor_vector(estimate.covariances, estimate.sigma)
        return np.concatenate([estimate.beta, psi])


@dataclass(frozen=True)
class BootstrapResult:
    """Parameter estimates on simulated responses.

    Attributes
    ----------
    estimates
        One row per completed replicate, one column per parameter (fixed effects, then
        ``sd(...)``, ``cor(...)``, ``sigma``).
    nsim
        Replicates asked for; fewer rows mean the run was interrupted.
    seed
        The seed the replicates were drawn from.
    """

    estimates: pd.DataFrame
    nsim: int
    seed: int | None

    @property
    def completed(self) -> int:
        return len(self.estimates)

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Percentile intervals: the (1 − level)/2 and (1 + level)/2 quantiles."""
        q = self.estimates.quantile([(1 - level) / 2, (1 + level) / 2]).T
        q.columns = ["lower", "upper"]
        return q


_WORKER: Refitter | None = None


def _init_worker(refitter: Refitter) -> None:
    global _WORKER
    _WORKER = refitter


def _init_worker_process(refitter: Refitter) -> None:
    """`_init_worker` in a pool's process, which leaves Ctrl-C to the parent (that stops
    the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(refitter)


def _replicate(seed: np.random.SeedSequence) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER.refit(draw_response(_WORKER.fit, np.random.default_rng(seed)))


def bootstrap(
    fit: LinearMixedModel,
    nsim: int = 1000,
    *,
    seed: int | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> BootstrapResult:
    """Parametric bootstrap: simulate from the fit, refit, collect every parameter.

    Parameters
    ----------
    nsim
        Number of replicates.
    seed
        Seed of the replicates' random streams; the same seed gives the same result for
        any `n_jobs`.
    n_jobs
        Worker processes (1: in this process).
    progress
        Called as ``progress(done, nsim)``; by default a counter on stderr when it is a
        terminal.

    Returns
    -------
    BootstrapResult
        The replicates completed: all of them, or those before an interrupt (Ctrl-C).

    Warns
    -----
    InterruptedBootstrapWarning
        When interrupted, saying how many replicates were completed (an interrupt before
        the first is raised again).
    """
    refitter = Refitter.of(fit)
    names = [*fit.fixef_names, *VarianceScale.of(fit).names]
    streams = np.random.SeedSequence(seed).spawn(nsim)
    report = progress or _stderr_progress
    rows: list[np.ndarray] = []
    try:
        with contextlib.closing(_replicates(refitter, streams, n_jobs)) as replicates:
            for row in replicates:
                rows.append(row)
                report(len(rows), nsim)
    except KeyboardInterrupt:
        if not rows:
            raise
        warnings.warn(
            f"the bootstrap was interrupted: its results use the {len(rows)} of {nsim} "
            "replicates completed",
            InterruptedBootstrapWarning,
            stacklevel=2,
        )
    estimates = pd.DataFrame(np.array(rows).reshape(len(rows), len(names)), columns=names)
    return BootstrapResult(estimates, nsim, seed)


def _replicates(
    refitter: Refitter, streams: list[np.random.SeedSequence], n_jobs: int
) -> Generator[np.ndarray, None, None]:
    """The replicates' parameter vectors in order, computed here or by `n_jobs` processes.

    The workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group), so an
    interrupt reaches this process alone; leaving the pool (by the interrupt, or by closing
    the iterator) terminates the workers at once instead of waiting for their running tasks.
    """
    if n_jobs == 1:
        _init_worker(refitter)
        yield from map(_replicate, streams)
        return
    with multiprocessing.Pool(n_jobs, _init_worker_process, (refitter,)) as pool:
        yield from pool.imap(_replicate, streams, chunksize=16)


def bootstrap_intervals(
    fit: LinearMixedModel, level: float, nsim: int, seed: int | None, n_jobs: int
) -> pd.DataFrame:
    """Percentile bootstrap intervals, rows as `confint`'s (variance scale, then β)."""
    table = bootstrap(fit, nsim, seed=seed, n_jobs=n_jobs).intervals(level)
    variance = [n for n in table.index if n not in fit.fixef_names]
    return table.loc[[*variance, *fit.fixef_names]]


def _stderr_progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and (done == total or done % max(1, total // 100) == 0):
        end = "\n" if done == total else ""
        print(f"\rbootstrap: {done}/{total}", end=end, file=sys.stderr, flush=True)
