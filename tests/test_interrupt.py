"""Ctrl-C stops a bootstrap at once, and what it returns says that it is partial."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mixedfx as mfx
from mixedfx.inference import bootstrap as bootstrap_module


@pytest.fixture(scope="module")
def fit() -> mfx.LinearMixedModel:
    return mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))


def stop_after(k: int):
    """A progress callback that interrupts (as Ctrl-C would) once `k` replicates are done."""

    def progress(done: int, total: int) -> None:
        if done == k:
            raise KeyboardInterrupt

    return progress


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_an_interrupted_bootstrap_returns_the_completed_replicates(fit, n_jobs) -> None:
    """The first k replicates of an interrupted run are those of a run of k: the streams are
    spawned per replicate from the seed."""
    start = time.monotonic()
    with pytest.warns(mfx.InterruptedBootstrapWarning, match="the 5 of 10000 replicates"):
        partial = mfx.bootstrap(fit, 10_000, seed=3, n_jobs=n_jobs, progress=stop_after(5))
    assert time.monotonic() - start < 20  # the other 9,995 replicates were not computed
    assert partial.completed == 5 and partial.nsim == 10_000
    whole = mfx.bootstrap(fit, 5, seed=3, progress=lambda done, total: None)
    np.testing.assert_array_equal(partial.estimates.to_numpy(), whole.estimates.to_numpy())
    assert multiprocessing.active_children() == []  # the workers were stopped


def test_an_interrupt_before_any_replicate_is_raised_again(fit) -> None:
    def interrupt(*args: object) -> np.ndarray:
        raise KeyboardInterrupt

    original = bootstrap_module._replicate
    try:
        bootstrap_module._replicate = interrupt
        with pytest.raises(KeyboardInterrupt):
            mfx.bootstrap(fit, 10, progress=lambda done, total: None)
    finally:
        bootstrap_module._replicate = original


def test_interrupted_bootstrap_intervals_warn_how_many_replicates(fit, monkeypatch) -> None:
    monkeypatch.setattr(bootstrap_module, "_stderr_progress", stop_after(7))
    with pytest.warns(mfx.InterruptedBootstrapWarning, match="the 7 of 200 replicates"):
        partial = fit.confint(method="bootstrap", nsim=200, seed=11)
    monkeypatch.setattr(bootstrap_module, "_stderr_progress", lambda done, total: None)
    whole = fit.confint(method="bootstrap", nsim=7, seed=11)
    np.testing.assert_array_equal(partial.to_numpy(), whole.to_numpy())


# Replicates after the first 32 take a second each, as a large model's refits do; the pool's
# forked workers inherit the slowed function.
SCRIPT = """
import multiprocessing, sys, time, warnings
import mixedfx as mfx
from mixedfx.inference import bootstrap
multiprocessing.set_start_method("fork", force=True)
fit = mfx.lmer("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy"))
refit = bootstrap._replicate
def slow(seed):
    if seed.spawn_key[-1] >= 32:
        time.sleep(1)
    return refit(seed)
bootstrap._replicate = slow
def progress(done, total):
    if done == 1:
        print("started", flush=True)
for attempt in range(ATTEMPTS):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = mfx.bootstrap(fit, 1000, seed=attempt, n_jobs=2, progress=progress)
    print(result.completed, caught[0].category.__name__, flush=True)
"""
ATTEMPTS = 5


def test_ctrl_c_stops_a_parallel_bootstrap_at_once() -> None:
    """Five bootstraps in one process, each sent SIGINT while the workers compute: to the
    process group as a terminal's Ctrl-C sends it (even attempts), or to the parent alone (odd
    ones).  Each must stop within seconds, not when the workers' running chunks of 16 slow
    replicates end, and the process must exit leaving no worker behind."""
    proc = subprocess.Popen(
        [sys.executable, "-c", f"ATTEMPTS = {ATTEMPTS}\n{SCRIPT}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    watchdog = threading.Timer(120, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        for attempt in range(ATTEMPTS):
            assert proc.stdout.readline() == "started\n"
            time.sleep(0.05 * attempt)
            sent = time.monotonic()
            if attempt % 2:
                proc.send_signal(signal.SIGINT)
            else:
                os.killpg(proc.pid, signal.SIGINT)
            completed, warning = proc.stdout.readline().split()
            assert time.monotonic() - sent < 5
            assert 0 < int(completed) <= 64 and warning == "InterruptedBootstrapWarning"
        assert proc.wait(timeout=10) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    with pytest.raises(ProcessLookupError):  # no process of the group is left
        os.killpg(proc.pid, 0)
