"""The blocked profiled deviance against a dense textbook computation.

With V = ZΛΛᵀZᵀ + I (σ² factored out), β̂ = (XᵀV⁻¹X)⁻¹XᵀV⁻¹y and r² = (y − Xβ̂)ᵀV⁻¹(y − Xβ̂):

    ML:   log|V| + n (1 + log(2π r²/n))
    REML: log|V| + log|XᵀV⁻¹X| + (n − p)(1 + log(2π r²/(n − p)))
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import block_diag

import mixedfx as mfx
from mixedfx.crossprod.products import cross_products, term_matrix
from mixedfx.data.design import Design, build_design
from mixedfx.data.frame import model_frame
from mixedfx.formula import parse_formula
from mixedfx.pls.covariance import ThetaLayout
from mixedfx.pls.criterion import ML, REML
from mixedfx.pls.deviance import ProfiledDeviance

DESIGNS = {
    "crossed, slopes": "y ~ x + (1 + x | a) + (1 | b)",
    "crossed, three factors": "y ~ x + (1 | a) + (1 | b) + (1 | c)",
    "nested": "y ~ x + (1 | a/b)",
    "nested, slopes": "y ~ x + (x | a) + (1 | a:b)",
    "uncorrelated, crossed": "y ~ x + (1 + x || b) + (1 | a)",
}


def random_data(rng: np.random.Generator, n: int = 80) -> pd.DataFrame:
    a = rng.integers(0, 7, n)
    b = rng.integers(0, 5, n)
    c = rng.choice(["p", "q", "r"], n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(size=7)[a] + 0.7 * rng.normal(size=5)[b] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "a": a, "b": [f"b{v}" for v in b], "c": c})


def pipeline(formula: str, data: pd.DataFrame) -> tuple[Design, ProfiledDeviance, ProfiledDeviance]:
    design = build_design(parse_formula(formula), model_frame(parse_formula(formula), data))
    A = cross_products(design, chunk_rows=23)  # several chunks: the sum over chunks is tested too
    return (
        design,
        ProfiledDeviance(A, ML()),
        ProfiledDeviance(A, REML()),
    )


def dense_pieces(design: Design, theta: np.ndarray) -> dict[str, np.ndarray | float]:
    templates = ThetaLayout(tuple(t.k for t in design.terms)).templates(theta)
    Z = np.hstack([term_matrix(t).toarray() for t in design.terms])
    Lam = block_diag(*[np.kron(np.eye(t.nlevels), T) for t, T in zip(design.terms, templates)])
    X, y, n = design.fixed.X, design.y, design.n
    V = Z @ Lam @ Lam.T @ Z.T + np.eye(n)
    Vinv = np.linalg.inv(V)
    XtVX = X.T @ Vinv @ X
    beta = np.linalg.solve(XtVX, X.T @ Vinv @ y)
    r = y - X @ beta
    r2 = float(r @ Vinv @ r)
    Omega = Lam.T @ Z.T @ Z @ Lam + np.eye(Z.shape[1])
    u = np.linalg.solve(Omega, Lam.T @ Z.T @ r)
    return {
        "logdetV": np.linalg.slogdet(V)[1],
        "logdetX": np.linalg.slogdet(XtVX)[1],
        "r2": r2,
        "beta": beta,
        "b": Lam @ u,
        "XtVX": XtVX,
        "condvar": np.diag(Lam @ np.linalg.inv(Omega) @ Lam.T),
    }


def dense_deviances(design: Design, theta: np.ndarray) -> tuple[float, float]:
    d = dense_pieces(design, theta)
    n, p = design.n, design.p
    ml = d["logdetV"] + n * (1 + np.log(2 * np.pi * d["r2"] / n))
    reml = d["logdetV"] + d["logdetX"] + (n - p) * (1 + np.log(2 * np.pi * d["r2"] / (n - p)))
    return float(ml), float(reml)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from(sorted(DESIGNS)))
def test_deviance_matches_dense_textbook(seed: int, which: str) -> None:
    rng = np.random.default_rng(seed)
    design, ml, reml = pipeline(DESIGNS[which], random_data(rng))
    layout = ml.layout
    theta = np.where(
        layout.is_diagonal, rng.uniform(0.05, 2.0, layout.size), rng.normal(0, 0.5, layout.size)
    )
    want_ml, want_reml = dense_deviances(design, theta)
    for dense in (True, False):  # both evaluations, whichever the size would choose
        for f, want in ((ml, want_ml), (reml, want_reml)):
            evaluated = ProfiledDeviance(f.A, f.criterion, dense=dense)
            assert evaluated(theta) == pytest.approx(want, rel=1e-8)


@pytest.mark.parametrize("which", sorted(DESIGNS))
@pytest.mark.parametrize("reml", [True, False])
def test_estimates_match_dense_at_optimum(which: str, reml: bool, rng) -> None:
    data = random_data(rng, n=120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mfx.SingularFitWarning)
        fit = mfx.lmer(DESIGNS[which], data, reml=reml)
    d = dense_pieces(fit.design, fit.theta)
    np.testing.assert_allclose(fit.fixef.to_numpy(), d["beta"], rtol=1e-8, atol=1e-10)
    b = np.concatenate([np.asarray(x).ravel() for x in fit.estimate.solution.b])
    np.testing.assert_allclose(b, d["b"], rtol=1e-7, atol=1e-9)
    sigma2 = d["r2"] / (fit.nobs - fit.design.p if reml else fit.nobs)
    assert fit.sigma**2 == pytest.approx(sigma2, rel=1e-9)
    np.testing.assert_allclose(fit.vcov.to_numpy(), sigma2 * np.linalg.inv(d["XtVX"]), rtol=1e-7)
    from mixedfx.pls.solution import conditional_covariances

    blocks = conditional_covariances(fit.chol, fit.A)
    condvar = np.concatenate([np.diagonal(C, axis1=1, axis2=2).ravel() for C in blocks])
    np.testing.assert_allclose(condvar, d["condvar"], rtol=1e-7, atol=1e-12)


def test_ml_and_reml_relation(rng) -> None:
    """At the same θ: REML − ML = log|L_X|² − p(1 + log 2π) + (n−p) log(r²/(n−p)) − n log(r²/n)."""
    design, ml, reml = pipeline(DESIGNS["crossed, slopes"], random_data(rng))
    theta = ml.layout.initial() * 0.8
    factor = ml.factor(theta)
    assert factor is not None
    n, p, r2 = design.n, design.p, factor.pwrss
    expected = (
        factor.logdet_X
        - p * (1 + np.log(2 * np.pi))
        + (n - p) * np.log(r2 / (n - p))
        - n * np.log(r2 / n)
    )
    assert reml(theta) - ml(theta) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("which", sorted(DESIGNS))
def test_dense_and_blocked_evaluations_give_the_same_factor(which: str, rng) -> None:
    """The dense evaluation of small models returns the blocked factor the rest reads."""
    _, ml, _ = pipeline(DESIGNS[which], random_data(rng))
    theta = rng.uniform(0.2, 1.5, ml.layout.size)
    dense, blocked = (ProfiledDeviance(ml.A, ML(), dense=d).factor(theta) for d in (True, False))
    assert dense is not None and blocked is not None
    np.testing.assert_allclose(dense.L11, blocked.L11, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.tril(dense.Lrest), np.tril(blocked.Lrest), rtol=1e-10, atol=1e-12)
    assert (dense.q_rest, dense.p, dense.n) == (blocked.q_rest, blocked.p, blocked.n)


@pytest.mark.parametrize("which", sorted(DESIGNS))
@pytest.mark.parametrize("dense", [True, False])
def test_cross_products_match_dense_textbook(which: str, dense: bool, rng) -> None:
    """A's blocks from dense and from sparse columns, summed over chunks, equal [Z X y]ᵀ[Z X y]."""
    data = random_data(rng)
    design = build_design(
        parse_formula(DESIGNS[which]), model_frame(parse_formula(DESIGNS[which]), data)
    )
    A = cross_products(design, chunk_rows=23, dense=dense)
    Z = [term_matrix(t).toarray() for t in design.terms]
    C = np.hstack([*Z, design.fixed.X, design.y[:, None]])
    full = C.T @ C
    q1, k = Z[0].shape[1], design.terms[0].k
    blocks = [full[g : g + k, g : g + k] for g in range(0, q1, k)]
    np.testing.assert_allclose(A.A11, np.array(blocks), rtol=1e-12, atol=1e-10)
    B = sp.csr_matrix(A.B.matrix).toarray()
    np.testing.assert_allclose(B, full[q1:, :q1], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(A.R, full[q1:, q1:], rtol=1e-12, atol=1e-10)
