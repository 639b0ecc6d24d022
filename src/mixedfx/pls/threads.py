"""How many threads BLAS may use for a block of work.

Between many short BLAS calls, idle threads spinning for work cost more than splitting the work
saves; and a BLAS thread that shares a core with another busy process makes every thread of the
call wait for it, so a factorization on more threads than there are idle cores runs slower than
on one.  An objective states its policy (`blas_threads`) and every factorization of it runs
under that limit.
"""

from __future__ import annotations

import contextlib
import functools
import os

from threadpoolctl import ThreadpoolController


@functools.cache
def _threadpools() -> ThreadpoolController:
    # created on first use, after numpy's and SciPy's BLAS libraries are loaded
    return ThreadpoolController()


def blas_limit(threads: int | None) -> contextlib.AbstractContextManager[object]:
    """A context in which BLAS runs on at most `threads` threads (None: the library's default)."""
    if threads is None:
        return contextlib.nullcontext()
    return _threadpools().limit(limits=threads, user_api="blas")


def idle_cores() -> int:
    """The cores this process may use less those busy with other work, at least 1; all of
    them where the platform keeps no load average.

    The one-minute load average counts this process too, which is running: so the cores
    busy with other work are the load, rounded, less one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return max(1, min(cores, cores - round(load) + 1))
