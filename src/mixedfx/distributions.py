"""Tail probabilities and quantiles of the reference distributions, from `scipy.special`.

These are the functions `scipy.stats` itself evaluates (so the numbers are the same to the
last digit), without importing `scipy.stats`, which costs a command-line run more than
the rest of a small fit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special


def t_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """P(T > x) for Student's t with `df` degrees of freedom."""
    return np.asarray(special.stdtr(df, -np.asarray(x, dtype=float)))


def t_ppf(p: ArrayLike, df: ArrayLike) -> np.ndarray:
    """The `p` quantile of Student's t with `df` degrees of freedom."""
    return np.asarray(special.stdtrit(df, p))


def f_sf(x: ArrayLike, dfn: ArrayLike, dfd: ArrayLike) -> np.ndarray:
    """P(F > x) for Fisher's F with (`dfn`, `dfd`) degrees of freedom."""
    return np.asarray(special.fdtrc(dfn, dfd, x))


def chi2_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray:
    """P(χ² > x) with `df` degrees of freedom."""
    return np.asarray(special.chdtrc(df, x))


def norm_sf(x: ArrayLike) -> np.ndarray:
    """P(Z > x) for the standard normal."""
    return np.asarray(special.ndtr(-np.asarray(x, dtype=float)))


def norm_ppf(p: ArrayLike) -> np.ndarray:
    """The `p` quantile of the standard normal."""
    return np.asarray(special.ndtri(p))
