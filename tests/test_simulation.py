"""Responses simulated in the space of the cross-products have the law of row-level draws.

The bootstrap and the parametric bootstrap comparison draw w = [Z X]ᵀy* and y*ᵀy* from A
alone (`ResponseSimulator`).  If y* = Xβ + Zb* + ε* were drawn row by row, w would be
normal with mean [Z X]ᵀXβ and covariance [Z X]ᵀV[Z X], V = σ²(ZΛΛᵀZᵀ + I), and the part
of y*ᵀy* outside the columns, y*ᵀy* − wᵀG⁺w (G = [Z X]ᵀ[Z X]), would be σ²χ² with
n − rank(G) degrees of freedom, independent of w.  These are checked against the dense
computation from the rows: w whitened by the exact covariance has mean 0 and covariance I
(within 5 standard errors, 1/√N and √2/√N over N = 3000 draws), nothing outside the
covariance's range (1e-6 of its scale: the columns' linear relations hold), and the residual part
passes a Kolmogorov–Smirnov test against its χ² law (p > 1e-4).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

import mixedfx as mfx
from mixedfx.crossprod.products import term_matrix
from mixedfx.inference.bootstrap import simulator

NSIM = 3000


def _unbalanced_slopes() -> tuple[str, pd.DataFrame]:
    """Random slopes where some groups have one row (a level's block of A11 is singular)
    and an X column that is in the span of Z (the intercept)."""
    rng = np.random.default_rng(4)
    g = np.concatenate([np.repeat(np.arange(12), 6), [12, 13, 14]])
    x = rng.uniform(0, 3, g.size)
    b = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 0.4]], 15)
    y = 1 + x + b[g, 0] + b[g, 1] * x + 0.7 * rng.standard_normal(g.size)
    return "y ~ x + (x | g)", pd.DataFrame({"y": y, "x": x, "g": g})


CASES = {
    "slopes": ("Reaction ~ Days + (Days | Subject)", mfx.datasets.load("sleepstudy")),
    "crossed": ("diameter ~ 1 + (1 | plate) + (1 | sample)", mfx.datasets.load("Penicillin")),
    "singular_levels": _unbalanced_slopes(),
}


def _exact_law(
    fit: mfx.LinearMixedModel, templates: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and covariance of w, and G⁺, from the dense columns of the rows."""
    design = fit.design
    Z = sp.hstack([term_matrix(t) for t in design.terms]).toarray()
    W = np.column_stack([Z, design.fixed.X])
    blocks = [np.kron(np.eye(ell), T @ T.T) for T, ell in zip(templates, fit.A.structure.nlevels)]
    n = Z.shape[0]
    relative = np.zeros((Z.shape[1], Z.shape[1]))
    start = 0
    for block in blocks:
        size = block.shape[0]
        relative[start : start + size, start : start + size] = block
        start += size
    V = fit.sigma**2 * (Z @ relative @ Z.T + np.eye(n))
    mean = W.T @ (design.fixed.X @ fit.fixef.to_numpy())
    return mean, W.T @ V @ W, np.linalg.pinv(W.T @ W, rcond=1e-10, hermitian=True)


@pytest.mark.parametrize("random_effects", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_cross_product_draws_have_the_law_of_row_level_draws(
    name: str, random_effects: bool
) -> None:
    """With the fitted random effects, and without (b* = 0), where w = [Z X]ᵀε* alone
    shows the factor of G that the draws use."""
    formula, data = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(formula, data)
    draws = simulator(fit)
    if not random_effects:
        draws = replace(draws, templates=[0 * T for T in draws.templates])
    mean, cov, G_pinv = _exact_law(fit, draws.templates)
    pairs = [draws.draw_response_products(np.random.default_rng(s)) for s in range(NSIM)]
    w = np.array([v for v, _ in pairs])
    yty = np.array([v for _, v in pairs])

    d, U = np.linalg.eigh(cov)
    live = d > 1e-9 * d.max()
    z = (w - mean) @ U[:, live] / np.sqrt(d[live])
    # the columns' linear relations hold in every draw (no noise outside their span)
    assert np.all(np.abs((w - mean) @ U[:, ~live]) < 1e-6 * np.sqrt(d.max()))
    se = 1 / np.sqrt(NSIM)
    assert np.all(np.abs(z.mean(axis=0)) < 5 * se)
    identity = np.eye(z.shape[1])
    deviation = np.cov(z, rowvar=False) - identity
    assert np.all(np.abs(deviation) < 5 * se * np.where(identity == 1, np.sqrt(2), 1))

    residual = (yty - np.einsum("ij,jk,ik->i", w, G_pinv, w)) / fit.sigma**2
    df = fit.nobs - np.linalg.matrix_rank(G_pinv, hermitian=True)
    assert df == draws.residual_df
    assert stats.kstest(residual, stats.chi2(df).cdf).pvalue > 1e-4


def test_nested_comparison_refuses_models_that_are_not_nested_by_columns() -> None:
    data = mfx.datasets.load("sleepstudy")
    small = mfx.lmer("Reaction ~ Days + (1 | Subject)", data, reml=False)
    other = mfx.lmer("Reaction ~ poly(Days, 2) + (Days | Subject)", data, reml=False)
    with pytest.raises(mfx.DataError, match="not nested"):
        mfx.anova(small, other, method="bootstrap", nsim=2, seed=1)
