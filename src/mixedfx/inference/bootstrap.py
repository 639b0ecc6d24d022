"""The parametric bootstrap (lme4's ``bootMer``): simulate from the fit, refit, collect.

A replicate draws the response's cross-products from the fitted model (`ResponseSimulator`,
no rows; per stratum for a residual SD per stratum, `StratifiedSimulator`) and refits from
the estimates on them.  Replicate i draws from its own random stream, spawned
from the seed, so the result does not depend on how replicates are shared among processes.
An interrupt (Ctrl-C) stops the run at once and returns the replicates completed, with a
warning saying how many.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mixedfx.errors import InterruptedBootstrapWarning
from mixedfx.inference.profile import VarianceScale
from mixedfx.inference.protocol import MixedFit
from mixedfx.inference.simulation import ResponseSimulator
from mixedfx.pls.covariance import sdcor_vector

Progress = Callable[[int, int], None]


def simulator(fit: MixedFit) -> ResponseSimulator:
    """Draws of the response's cross-products from the fitted model."""
    return ResponseSimulator.of(
        fit.A, fit.fixef.to_numpy(), fit.sigma, fit.layout.templates(fit.theta)
    )


@dataclass(frozen=True)
class Replicator:
    """Refits a model to responses simulated from it, in its cross-products
    (`MixedFit.refit_simulated`)."""

    fit: MixedFit

    @classmethod
    def of(cls, fit: MixedFit) -> Replicator:
        return cls(fit)

    def replicate(self, rng: np.random.Generator) -> np.ndarray:
        """Parameters refitted (from the estimates) to one simulated response: fixed
        effects, the variance scale (sd, cor, σ), and the other strata's residual SDs."""
        estimate, strata_sds = self.fit.refit_simulated(rng)
        psi = sdcor_vector(estimate.covariances, estimate.sigma)
        return np.concatenate([estimate.beta, psi, strata_sds])


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


_WORKER: Replicator | None = None


def _init_worker(replicator: Replicator) -> None:
    global _WORKER
    _WORKER = replicator


def _init_worker_process(replicator: Replicator) -> None:
    """`_init_worker` in a pool's process, which leaves Ctrl-C to the parent (that stops
    the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _init_worker(replicator)


def _replicate(seed: np.random.SeedSequence) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER.replicate(np.random.default_rng(seed))


def bootstrap(
    fit: MixedFit,
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
    replicator = Replicator.of(fit)
    strata = fit.dispersion_strata
    others = [] if strata is None else [f"sigma_{label}" for label in strata.index[1:]]
    names = [*fit.fixef_names, *VarianceScale.of(fit).names, *others]
    streams = np.random.SeedSequence(seed).spawn(nsim)
    report = progress or _stderr_progress
    rows: list[np.ndarray] = []
    try:
        with contextlib.closing(_replicates(replicator, streams, n_jobs)) as replicates:
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
    replicator: Replicator, streams: list[np.random.SeedSequence], n_jobs: int
) -> Generator[np.ndarray, None, None]:
    """The replicates' parameter vectors in order, computed here or by `n_jobs` processes.

    The workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group), so an
    interrupt reaches this process alone; leaving the pool (by the interrupt, or by closing
    the iterator) terminates the workers at once instead of waiting for their running tasks.
    """
    if n_jobs == 1:
        _init_worker(replicator)
        yield from map(_replicate, streams)
        return
    with multiprocessing.Pool(n_jobs, _init_worker_process, (replicator,)) as pool:
        yield from pool.imap(_replicate, streams, chunksize=16)


def bootstrap_intervals(
    fit: MixedFit, level: float, nsim: int, seed: int | None, n_jobs: int
) -> pd.DataFrame:
    """Percentile bootstrap intervals, rows as `confint`'s (variance scale, then β)."""
    table = bootstrap(fit, nsim, seed=seed, n_jobs=n_jobs).intervals(level)
    variance = [n for n in table.index if n not in fit.fixef_names]
    return table.loc[[*variance, *fit.fixef_names]]


def _stderr_progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and (done == total or done % max(1, total // 100) == 0):
        end = "\n" if done == total else ""
        print(f"\rbootstrap: {done}/{total}", end=end, file=sys.stderr, flush=True)
