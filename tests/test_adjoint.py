"""∂d/∂A, the criterion's derivative with respect to the cross-products, against central
differences along a perturbation A' of the same structure: the derivative a criterion over
A(δ) = Σ_s w_s(δ) A_s (a residual variance per stratum of rows) is built on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mixedfx.crossprod.offdiag import DenseBlock, SparseBlock, off_diagonal
from mixedfx.crossprod.products import CrossProducts
from mixedfx.pls.deviance import ProfiledDeviance
from test_gradient import storages
from test_objective import DESIGNS, pipeline, random_data


def perturbation(A: CrossProducts, rng: np.random.Generator) -> CrossProducts:
    """Random symmetric blocks with A's non-zero pattern (a stratum's rows have no other)."""
    A11 = A.A11 * rng.uniform(0.5, 1.5, A.A11.shape)
    A11 = (A11 + np.swapaxes(A11, 1, 2)) / 2
    R = A.R * rng.uniform(0.5, 1.5, A.R.shape)
    B = sp.csr_matrix(A.B.matrix, copy=True)
    B.data *= rng.uniform(0.5, 1.5, B.nnz)
    store = SparseBlock(B) if rng.integers(2) else DenseBlock(B.toarray())
    return replace(A, A11=A11, B=store, R=(R + R.T) / 2)


def moved(A: CrossProducts, other: CrossProducts, step: float) -> CrossProducts:
    """A + step · A'."""
    B = sp.csr_matrix(A.B.matrix) + step * sp.csr_matrix(other.B.matrix)
    return replace(
        A,
        A11=A.A11 + step * other.A11,
        B=off_diagonal(B, A.structure.ks[0]),
        R=A.R + step * other.R,
    )


def along(f: ProfiledDeviance, other: CrossProducts, theta: np.ndarray, sigma: float | None):
    """The central difference of d(θ; A + εA') at ε = 0."""
    h = 1e-6

    def at(step: float) -> float:
        out = ProfiledDeviance(moved(f.A, other, step), f.criterion).evaluated(theta, sigma)
        assert out is not None
        return out.value

    return (at(h) - at(-h)) / (2 * h)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    formula=st.sampled_from(sorted(DESIGNS.values())),
    at_sigma=st.booleans(),
)
def test_derivative_along_cross_products(seed: int, formula: str, at_sigma: bool) -> None:
    """Every storage of B and the dense evaluation; ML and REML; profiled over σ and at σ."""
    rng = np.random.default_rng(seed)
    _, ml, reml = pipeline(formula, random_data(rng))
    theta = rng.uniform(0.2, 1.5, ml.layout.size) * np.where(ml.layout.is_diagonal, 1.0, 0.5)
    sigma = 1.3 if at_sigma else None
    other = perturbation(ml.A, rng)
    for f in (ml, reml):
        reference = along(f, other, theta, sigma)
        for stored in storages(f):
            out = stored.evaluated(theta, sigma)
            assert out is not None
            assert out.adjoint.inner(other) == pytest.approx(reference, rel=1e-5, abs=1e-6)


def test_derivative_along_itself_is_the_scaling_of_every_row() -> None:
    """A(c) = c A (every row weighted c): at a given σ the criterion is
    logdet(c) + c·r²(c)/σ² + const, and ⟨∂d/∂A, A⟩ its derivative in c at c = 1."""
    rng = np.random.default_rng(11)
    _, ml, _ = pipeline(DESIGNS["crossed, slopes"], random_data(rng))
    theta = np.array([0.8, 0.1, 0.4, 0.6])
    for stored in storages(ml):
        out = stored.evaluated(theta, 1.1)
        assert out is not None
        reference = along(ml, ml.A, theta, 1.1)
        assert out.adjoint.inner(ml.A) == pytest.approx(reference, rel=1e-6)
