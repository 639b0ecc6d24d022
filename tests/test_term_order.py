"""The order of random-effect terms (θ, VarCorr, ranef) and of coef()'s columns, as lme4's.

lme4's ``mkReTrms`` reorders terms only when some term has more levels than the one written
before it, and then by ``rev(order(nlevels))``: ties come out in reverse order of writing.
``coef.merMod`` puts random-only coefficients (of any factor) first, filled with 0.  The
reference numbers come from ``tests/data/inputs/term_order.R`` (lme4 1.1, REML, bobyqa).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedfx as mfx
from mixedfx.data.design import lme4_term_order

INPUTS = Path(__file__).parent / "data" / "inputs"
REFERENCE = json.loads((INPUTS / "term_order.json").read_text())


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(INPUTS / "term_order.csv")


@pytest.mark.parametrize(
    ("nlevels", "order"),
    [
        ([4, 4, 16], [2, 1, 0]),
        ([4, 4], [0, 1]),
        ([4, 8, 4], [1, 2, 0]),
        ([8, 4, 4], [0, 1, 2]),
        ([3, 5, 5, 2], [2, 1, 0, 3]),
        ([], []),
    ],
)
def test_term_order_is_rev_order_when_levels_increase(nlevels, order) -> None:
    assert lme4_term_order(nlevels) == order


@pytest.mark.parametrize("name", list(REFERENCE))
def test_theta_varcorr_ranef_and_coef_in_lme4_order(data, name) -> None:
    ref = REFERENCE[name]
    fit = mfx.lmer(ref["formula"], data)
    assert fit.objective == pytest.approx(ref["reml"], abs=1e-6)
    np.testing.assert_allclose(fit.theta, ref["theta"], atol=2e-4)
    vc = ref["varcorr"]
    assert list(fit.varcorr["group"]) == vc["grp"]
    assert [v if isinstance(v, str) else "" for v in fit.varcorr["var1"]] == vc["var1"]
    np.testing.assert_allclose(fit.varcorr["vcov"], vc["vcov"], rtol=1e-4, atol=1e-8)
    assert list(fit.ranef) == list(ref["ranef"])
    for group, r in ref["ranef"].items():
        assert list(fit.ranef[group].columns) == list(np.atleast_1d(r["columns"]))
        assert list(fit.ranef[group].index) == r["rows"]
        np.testing.assert_allclose(fit.ranef[group].to_numpy(), r["values"], atol=1e-4)
    for group, c in ref["coef"].items():
        assert list(fit.coef[group].columns) == c["columns"]
        np.testing.assert_allclose(fit.coef[group].to_numpy(), c["values"], atol=1e-4)
