"""Parametric bootstrap comparison of nested mixed models (pbkrtest's ``PBmodcomp``).

The likelihood-ratio statistic's null distribution is simulated instead of taken as χ²:
responses are drawn from the smaller model (fitted by ML), both models are refitted to each,
and the p-value is the share of simulated statistics at least as large as the observed one,
(1 + #{LRT* ≥ LRT}) / (1 + nsim).
"""

from __future__ import annotations

import functools
import operator
import re

import numpy as np
import pandas as pd

from mixedfx.crossprod.products import CrossProducts
from mixedfx.distributions import chi2_sf
from mixedfx.errors import DataError
from mixedfx.inference.lrt import as_ml, check_same_data, warn_refits
from mixedfx.inference.protocol import MixedFit, require_one_residual_sd
from mixedfx.inference.simulation import ResponseSimulator, StratifiedSimulator, with_response
from mixedfx.pls.criterion import ML

# Relative agreement of the smaller model's cross-products with the larger's columns.
NESTING_RTOL = 1e-8


def bootstrap_lrt(small: MixedFit, large: MixedFit, nsim: int, seed: int | None) -> pd.DataFrame:
    """One-row table: the observed statistic, its df, the χ² and the bootstrap p-values.

    Responses are drawn from the smaller model in the larger model's cross-products, whose
    columns include the smaller model's (`nested_columns`); the smaller model's part is a
    selection of them.
    """
    check_same_data([small, large])
    warn_refits([small, large], ["model1", "model2"], stacklevel=3)
    small, large = sorted((as_ml(small), as_ml(large)), key=lambda f: f.npar)
    # drawn under the smaller model with one residual SD, refitted per stratum in the larger
    require_one_residual_sd(small, "the bootstrap comparison of two dispersion formulas")
    if large.strata_products is None:
        require_one_residual_sd(large, "the bootstrap comparison with a numeric dispersion term")
    observed = max(small.deviance - large.deviance, 0.0)
    columns, terms = nested_columns(small, large)
    draws = _null_in_larger(small, large, columns, terms)
    streams = np.random.SeedSequence(seed).spawn(nsim)
    rngs = (np.random.default_rng(stream) for stream in streams)
    lrt = np.maximum(np.array([_statistic(small, large, columns, draws, rng) for rng in rngs]), 0)
    df = large.npar - small.npar
    return pd.DataFrame(
        {
            "chisq": [observed],
            "df": [df],
            "p_chisq": [float(chi2_sf(observed, df))],
            "p_value": [(1 + np.sum(lrt >= observed)) / (1 + lrt.size)],
            "nsim": [lrt.size],
        },
        index=["parametric bootstrap"],
    )


def _statistic(
    small: MixedFit,
    large: MixedFit,
    columns: np.ndarray,
    draws: ResponseSimulator | StratifiedSimulator,
    rng: np.random.Generator,
) -> float:
    """The likelihood-ratio statistic of one response drawn under the smaller model: in the
    larger model's cross-products, or per stratum where it has a residual SD per stratum
    (whose sum is the smaller model's)."""
    if isinstance(draws, StratifiedSimulator):
        products = draws.draw_response_products(rng)
        Zty = np.sum([p[0] for p in products], axis=0)
        yty = float(sum(p[1] for p in products))
        parts = tuple(with_response(s.A, *p) for s, p in zip(draws.strata, products))
        large_deviance = large.refit_strata(parts).objective
    else:
        Zty, yty = draws.draw_response_products(rng)
        large_deviance = large.estimate.refit(with_response(large.A, Zty, yty), ML()).objective
    small_deviance = small.estimate.refit(with_response(small.A, Zty[columns], yty), ML())
    return small_deviance.objective - large_deviance


def nested_columns(
    small: MixedFit, large: MixedFit
) -> tuple[np.ndarray, list[tuple[int, list[int]]]]:
    """Positions of the smaller model's columns [Z X] among the larger model's, and for each
    of its terms the larger model's term and the positions of its coefficients there.

    Fixed-effect columns are matched by name; a random-effect term by its grouping factor
    and coefficient names, to a term of the larger model with the same factor and those
    coefficients among its own.  The cross-products must then agree on the matched columns.

    Raises
    ------
    DataError
        When the smaller model's columns are not among the larger model's.
    """
    S, L = small.A.structure, large.A.structure
    rows = _rows_products(large)
    terms = _matched_terms(small, large)
    fixed = list(large.fixef_names)
    if terms is None or not set(small.fixef_names) <= set(fixed):
        raise DataError(
            "the parametric bootstrap comparison needs the smaller model's fixed-effect "
            "columns and random-effect coefficients among the larger model's (same names); "
            "these models are not nested that way, so compare them by the likelihood-ratio "
            "test"
        )
    x_cols = [fixed.index(name) for name in small.fixef_names]
    agree = np.allclose(small.A.XtX, rows.XtX[np.ix_(x_cols, x_cols)], rtol=NESTING_RTOL)
    z_cols = []
    for i, (j, positions) in enumerate(terms):
        gram = rows.term_gram(j)[np.ix_(positions, positions)]
        agree &= S.nlevels[i] == L.nlevels[j] and np.allclose(
            small.A.term_gram(i), gram, rtol=NESTING_RTOL
        )
        levels = np.arange(L.nlevels[j])[:, None] * L.ks[j]
        z_cols.append((L.slices[j].start + levels + np.array(positions)[None, :]).ravel())
    if not agree:
        raise DataError(
            "the smaller model's columns differ from the larger model's of the same names; "
            "the parametric bootstrap comparison needs nested models fitted to the same data"
        )
    return np.concatenate([*z_cols, L.q + np.array(x_cols, dtype=int)]), terms


def _rows_products(fit: MixedFit) -> CrossProducts:
    """The fit's cross-products of the rows with their prior weights only: a model with a
    residual SD per stratum is fitted on the strata reweighted, whose sum this is."""
    parts = fit.strata_products
    return fit.A if parts is None else functools.reduce(operator.add, parts)


def _matched_terms(small: MixedFit, large: MixedFit) -> list[tuple[int, list[int]]] | None:
    """For each of the smaller model's terms, the larger model's term with the same grouping
    factor and its coefficients, and their positions there; None if one has no match."""
    out = []
    for group, names in zip(small.group_names, small.term_names):
        match = [
            (j, [own.index(name) for name in names])
            for j, (other, own) in enumerate(zip(large.group_names, large.term_names))
            if _factor(other) == _factor(group) and set(names) <= set(own)
        ]
        if not match:
            return None
        out.append(match[0])
    return out


def _factor(label: str) -> str:
    """The grouping factor of lme4's label of a term (``Subject.1`` → ``Subject``)."""
    return re.sub(r"\.\d+$", "", label)


def _null_in_larger(
    small: MixedFit,
    large: MixedFit,
    columns: np.ndarray,
    terms: list[tuple[int, list[int]]],
) -> ResponseSimulator | StratifiedSimulator:
    """Draws from the smaller model's estimates expressed in the larger model's columns:
    its β̂ on the matched columns of X, its templates on the matched coefficients of the
    matched terms, zero elsewhere."""
    L = large.A.structure
    beta = np.zeros(L.p)
    beta[columns[-small.A.p :] - L.q] = small.fixef.to_numpy()
    templates = [np.zeros((k, k)) for k in L.ks]
    for T, (j, positions) in zip(small.layout.templates(small.theta), terms):
        templates[j][np.ix_(positions, positions)] = T
    parts = large.strata_products
    if parts is not None:  # one residual SD for all the larger model's strata
        return StratifiedSimulator.of(parts, beta, small.sigma, np.ones(len(parts)), templates)
    return ResponseSimulator.of(large.A, beta, small.sigma, templates)
