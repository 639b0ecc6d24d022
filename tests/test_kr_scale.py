"""Kenward–Roger from the cross-products against pbkrtest's dense n × n computation.

The reference below is pbkrtest's ``vcovAdj`` (Halekoh & Højsgaard 2014, JSS 59(9)) written
out with the n × n matrices V = Σ τ_i G_i and V⁻¹; mixedfx never forms them
(`mixedfx.inference.kenward_roger`).
"""

from __future__ import annotations

import json
import tracemalloc
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.linalg import block_diag

import mixedfx as mfx
from mixedfx.crossprod.offdiag import SparseBlock, pattern_block
from mixedfx.crossprod.products import term_matrix
from mixedfx.inference.kenward_roger import (
    KenwardRoger,
    compute_kenward_roger,
    kenward_roger_df,
)
from mixedfx.pls.marginal import MarginalProducts
from test_inference import _t_test_table
from test_objective import DESIGNS, random_data

from conftest import DATA

KR_DESIGNS = {
    **DESIGNS,
    "slopes in both terms": "y ~ x + (1 + x | a) + (1 + x | b)",
    "factor fixed effects": "y ~ x * c + (1 | a) + (1 | b)",
}


def dense_kenward_roger(fit: mfx.LinearMixedModel) -> KenwardRoger:
    """pbkrtest's Φ, P_i, W and Φ_A with the n × n covariance matrices."""
    terms = fit.design.terms
    Z = np.hstack([term_matrix(t).toarray() for t in terms])
    X = fit.design.fixed.X
    sigma2 = fit.sigma**2
    G, tau = [], []
    start = 0
    for term, T in zip(terms, fit.layout.templates(fit.theta)):
        k, ell = term.k, term.nlevels
        Zj = Z[:, start : start + ell * k]
        for a in range(k):
            for b in range(a + 1):
                E = np.zeros((k, k))
                E[a, b] = E[b, a] = 1.0
                G.append(Zj @ np.kron(np.eye(ell), E) @ Zj.T)
                tau.append(sigma2 * (T @ T.T)[a, b])
        start += ell * k
    G.append(np.eye(len(X)))
    tau.append(sigma2)
    Vinv = np.linalg.inv(sum(t * g for t, g in zip(tau, G)))
    Phi = np.linalg.inv(X.T @ Vinv @ X)
    H = [g @ Vinv for g in G]
    P = [-X.T @ Vinv @ h @ X for h in H]
    m = len(G)
    Q = [[X.T @ Vinv @ G[i] @ Vinv @ G[j] @ Vinv @ X for j in range(m)] for i in range(m)]
    info = np.array(
        [
            [
                np.sum(H[i].T * H[j])
                - 2 * np.sum(Phi * Q[i][j])
                + np.sum((Phi @ P[i]) * (P[j] @ Phi))
                for j in range(m)
            ]
            for i in range(m)
        ]
    )
    W = 2 * np.linalg.inv(info)
    U = sum(W[i, j] * (Q[i][j] - P[i] @ Phi @ P[j]) for i in range(m) for j in range(m))
    return KenwardRoger(Phi, P, W, Phi + 2 * Phi @ U @ Phi)


def fit_reml(formula: str, data: pd.DataFrame) -> mfx.LinearMixedModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mfx.lmer(formula, data)


def assert_same_kenward_roger(ours: KenwardRoger, want: KenwardRoger) -> None:
    np.testing.assert_allclose(ours.Phi, want.Phi, rtol=1e-9, atol=1e-12 * np.abs(want.Phi).max())
    scale = np.abs(want.PhiA).max()
    np.testing.assert_allclose(ours.PhiA, want.PhiA, rtol=1e-8, atol=1e-11 * scale)
    np.testing.assert_allclose(
        ours.Omega, want.Omega, rtol=1e-7, atol=1e-10 * np.abs(want.Omega).max()
    )
    p = want.Phi.shape[0]
    for L in [*np.eye(p), np.eye(p)]:  # every coefficient's t test, and the F test of all
        L = np.atleast_2d(L)
        np.testing.assert_allclose(kenward_roger_df(ours, L), kenward_roger_df(want, L), rtol=1e-8)


@pytest.mark.parametrize("which", sorted(KR_DESIGNS))
@pytest.mark.parametrize("seed", [1, 2])
def test_kenward_roger_equals_the_dense_computation(which: str, seed: int) -> None:
    """Crossed, nested, correlated and uncorrelated slopes, a slope term after the first
    (the general block-pair path), factors among the fixed effects (P_i Φ P_j not symmetric)."""
    rng = np.random.default_rng(seed)
    fit = fit_reml(KR_DESIGNS[which], random_data(rng, 150))
    assert_same_kenward_roger(compute_kenward_roger(fit), dense_kenward_roger(fit))


@pytest.mark.parametrize("storage", ["sparse", "pattern"])
def test_kenward_roger_is_the_same_for_every_storage_of_B(storage: str) -> None:
    """The sparse off-diagonal storages (chosen for large crossed designs; a small model has
    B dense) update only part of the Schur complement: the result must not depend on it."""
    fit = fit_reml(KR_DESIGNS["slopes in both terms"], random_data(np.random.default_rng(3), 150))
    B = sp.csr_matrix(fit.A.B.matrix)
    stored = SparseBlock(B) if storage == "sparse" else pattern_block(B, fit.layout.ks[0])
    other = replace(fit, estimate=replace(fit.estimate, A=replace(fit.A, B=stored)))
    assert_same_kenward_roger(compute_kenward_roger(other), compute_kenward_roger(fit))


def test_the_marginal_products_equal_the_dense_ones() -> None:
    """F = ZᵀṼ⁻¹X, C = XᵀṼ⁻¹X and S̃X = ZᵀṼ⁻¹ZX with Ṽ = I + ZΛΛᵀZᵀ formed densely."""
    rng = np.random.default_rng(4)
    fit = fit_reml(KR_DESIGNS["slopes in both terms"], random_data(rng, 120))
    Z = np.hstack([term_matrix(t).toarray() for t in fit.design.terms])
    X = fit.design.fixed.X
    Lam = block_diag(
        *[
            np.kron(np.eye(t.nlevels), T)
            for t, T in zip(fit.design.terms, fit.layout.templates(fit.theta))
        ]
    )
    Vinv = np.linalg.inv(np.eye(len(X)) + Z @ Lam @ Lam.T @ Z.T)
    marginal = MarginalProducts(fit.A, fit.chol)
    np.testing.assert_allclose(marginal.zx, Z.T @ Vinv @ X, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(marginal.xx, X.T @ Vinv @ X, rtol=1e-10)
    R = rng.normal(size=(Z.shape[1], 3))
    np.testing.assert_allclose(marginal.zz_product(R), Z.T @ Vinv @ Z @ R, rtol=1e-9, atol=1e-11)


def test_exam_matches_pbkrtest() -> None:
    """Exam (4,059 rows, correlated slopes by school), which the dense computation made too
    slow to test: pbkrtest's df, standard errors and t at the tight optimum."""
    ref, _, table = _t_test_table("exam_reml", "kenward-roger")
    kr = ref["kenward_roger"]
    np.testing.assert_allclose(table["df"], kr["df"], rtol=1e-6)
    np.testing.assert_allclose(table["std_error"], kr["se"], rtol=5e-6)
    np.testing.assert_allclose(table["statistic"], kr["t"], rtol=5e-6)


@pytest.mark.parametrize("scale", [1e6, 1e12])
def test_kenward_roger_is_the_same_in_any_units_of_a_slope(scale: float) -> None:
    """x · c divides the slope's variance by c² and multiplies its information by c⁴: the
    information is inverted in the parameters' natural units, where a covariate of size 1e12
    does not drop a direction as rounding (at c = 1e6 the intercept's df were 2.9e8, not 11)."""
    data = pd.read_csv(DATA / "random_slope.csv")
    unscaled = fit_reml("y ~ x + (x | g)", data).coef_table("kenward-roger")
    table = fit_reml("y ~ x + (x | g)", data.assign(x=data["x"] * scale)).coef_table(
        "kenward-roger"
    )
    np.testing.assert_allclose(table["df"], unscaled["df"], rtol=1e-6)
    np.testing.assert_allclose(table["statistic"], unscaled["statistic"], rtol=1e-5)


def crossed_data(n: int, levels: tuple[int, int], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, levels[0], n), rng.integers(0, levels[1], n)
    x = rng.normal(size=n)
    y = 0.5 * x + rng.normal(size=levels[0])[a] + rng.normal(size=levels[1])[b] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "a": a, "b": b})


def test_kenward_roger_allocates_far_less_than_one_n_by_q_array() -> None:
    """20,000 rows, q = 700 random effects: an n × q array of floats is 112 MB, V n × n
    3.2 GB.  The whole computation peaks below a tenth of the n × q array."""
    fit = fit_reml("y ~ x + (1 | a) + (1 | b)", crossed_data(20_000, (500, 200), 5))
    n, q = fit.nobs, fit.A.structure.q
    tracemalloc.start()
    fit.coef_table("kenward-roger")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * n * q * 8


def test_insteval_subset_matches_lmertest_and_pbkrtest() -> None:
    """Every 25th row of InstEval (2,937) with the benchmark's three crossed terms and a
    factor among the fixed effects, REML (tests/data/r/insteval_subset.R, at a tight
    optimum): lmerTest's Satterthwaite df and t, pbkrtest's Kenward–Roger df and t and its
    whole adjusted covariance ``vcovAdj``."""
    ref = json.loads((DATA / "insteval_subset.json").read_text())
    data = mfx.datasets.load("InstEval").iloc[:: ref["every"]]
    fit = fit_reml(ref["formula"], data)
    np.testing.assert_allclose(fit.theta, ref["theta"], rtol=1e-5)
    satterthwaite = fit.coef_table("satterthwaite").loc[ref["names"]]
    np.testing.assert_allclose(satterthwaite["df"], ref["satterthwaite"]["df"], rtol=1e-5)
    np.testing.assert_allclose(satterthwaite["statistic"], ref["satterthwaite"]["t"], rtol=5e-6)
    kr = ref["kenward_roger"]
    table = fit.coef_table("kenward-roger").loc[ref["names"]]
    np.testing.assert_allclose(table["df"], kr["df"], rtol=1e-6)
    np.testing.assert_allclose(table["statistic"], kr["t"], rtol=5e-6)
    vcov = fit.vcov_kr().loc[ref["names"], ref["names"]].to_numpy()
    want = np.array(kr["vcov"])
    np.testing.assert_allclose(vcov, want, rtol=1e-6, atol=1e-7 * np.abs(want).max())
