"""How many threads BLAS may use for a block of work.

Between many short BLAS calls, idle threads spinning for work cost more than splitting the work
saves, most of all on a machine whose cores are busy with other processes; an objective states
its policy (`blas_threads`) and every factorization of it runs under that limit.
"""

from __future__ import annotations

import contextlib
import functools

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
