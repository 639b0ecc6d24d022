"""What the fast paths of a big fit must keep: the product pattern of the off-diagonal block
entry for entry as the sort-based construction gives it, the cross-products whatever the
chunking, and the factorization at the optimum under the evaluations' BLAS thread limit, which
leaves out the cores busy with other work."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from mixedfx.crossprod.offdiag import _dense_ranks, pattern_block
from mixedfx.crossprod.products import cross_products
from mixedfx.data.design import Design, build_design
from mixedfx.data.frame import model_frame
from mixedfx.formula import parse_formula
from mixedfx.pls.criterion import ML
from mixedfx.pls.deviance import ProfiledDeviance
from mixedfx.pls.threads import idle_cores


def sorted_pattern(B: sp.csr_matrix, k: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """P, rows, cols by the direct construction: every pair of entries of a level, kept
    where row(e2) ≤ row(e1), positions numbered by np.unique (a sort)."""
    C = B.tocoo()
    level, a = np.divmod(C.col, k)
    order = np.lexsort((a, C.row, level))
    row, level, a, val = C.row[order], level[order], a[order], C.data[order]
    e1, e2 = [], []
    for g in np.unique(level):
        entries = np.flatnonzero(level == g)
        for i in entries:
            for j in entries:
                if row[j] <= row[i]:
                    e1.append(i)
                    e2.append(j)
    i1, i2 = np.array(e1, dtype=int), np.array(e2, dtype=int)
    r = B.shape[0]
    position, slot = np.unique(row[i1].astype(np.int64) * r + row[i2], return_inverse=True)
    column = (level[i1] * k + a[i1]) * k + a[i2]
    shape = (position.size, B.shape[1] // k * k * k)
    P = sp.csr_matrix((val[i1] * val[i2], (slot.ravel(), column)), shape=shape)
    return P, *np.divmod(position, r)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("seed", range(8))
def test_pattern_equals_the_sort_based_construction(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    r, ell = int(rng.integers(2, 25)), int(rng.integers(1, 15))
    B = sp.random(r, ell * k, density=rng.uniform(0.05, 0.9), format="lil", random_state=rng)
    B[:, : k * int(rng.integers(0, ell))] = 0.0  # some levels without entries
    B = B.tocsr()
    got = pattern_block(B, k)
    P, rows, cols = sorted_pattern(B[:-1], k)
    np.testing.assert_array_equal(got.rows, rows)
    np.testing.assert_array_equal(got.cols, cols)
    assert got.P.shape == P.shape
    np.testing.assert_array_equal(got.P.indptr, P.indptr)
    np.testing.assert_array_equal(got.P.indices, P.indices)
    np.testing.assert_array_equal(got.P.data, P.data)


def test_dense_ranks_equal_numpy_unique() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 1000, size=5000) ** 2 % 997_001
    distinct, rank = _dense_ranks(keys, 997_001)
    want, inverse = np.unique(keys, return_inverse=True)
    np.testing.assert_array_equal(distinct, want)
    np.testing.assert_array_equal(rank, inverse.ravel())


def crossed_design(n: int = 3000) -> Design:
    rng = np.random.default_rng(11)
    g, h = rng.integers(0, 300, n), rng.integers(0, 120, n)
    x = rng.normal(size=n)
    y = 1 + x + rng.normal(size=300)[g] + rng.normal(size=120)[h] + rng.normal(size=n)
    data = pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "h": h.astype(str)})
    parsed = parse_formula("y ~ x + (1 + x | g) + (1 | h)", data.columns)
    return build_design(parsed, model_frame(parsed, data))


def test_cross_products_do_not_depend_on_the_chunks() -> None:
    design = crossed_design()
    whole = cross_products(design, chunk_rows=design.n, dense=False)
    chunked = cross_products(design, chunk_rows=700, dense=False)
    np.testing.assert_allclose(chunked.R, whole.R, rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(chunked.A11, whole.A11, rtol=1e-13)
    difference = abs(chunked.B.matrix - whole.B.matrix).max()
    assert difference <= 1e-10 * abs(whole.B.matrix).max()


def blas_threads() -> int:
    return max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@pytest.mark.skipif(blas_threads() < 2, reason="BLAS runs one thread here anyway")
def test_the_factor_outside_the_optimizer_keeps_the_thread_limit() -> None:
    objective = ProfiledDeviance(cross_products(crossed_design()), ML())
    assert objective.blas_threads == 1
    seen: list[int] = []
    evaluation = objective._evaluation
    factor = evaluation.factor

    def recording(theta: np.ndarray):
        seen.append(blas_threads())
        return factor(theta)

    evaluation.factor = recording  # type: ignore[method-assign]
    assert objective.factor(np.ones(4)) is not None
    assert seen == [1]


def test_idle_cores_leave_out_the_busy_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert idle_cores() == cores
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 3.0, 0.0, 0.0))
    assert idle_cores() == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 0.0, 0.0))  # this process alone
    assert idle_cores() == cores
    monkeypatch.setattr(os, "getloadavg", lambda: (float(cores), 0.0, 0.0))  # others on the rest
    assert idle_cores() == 1
