"""Links and families against R's family objects (tests/data/family/families.R), and the
identities between them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mixedfx.family.families import FAMILIES, link_of
from mixedfx.family.links import LINKS

R = json.loads((Path(__file__).parent / "data/family/families.json").read_text())


@pytest.mark.parametrize("name", sorted(R["links"]))
def test_links_match_r_including_their_clamps(name: str) -> None:
    """g⁻¹ and dμ/dη where R holds them inside (ε, 1 − ε) and ≥ ε; g on values within."""
    ref = R["links"][name]
    link = LINKS[name]
    eta = np.asarray(ref.get("eta", R["eta"]), dtype=float)
    np.testing.assert_allclose(link.inverse(eta), ref["linkinv"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(link.mu_eta(eta), ref["mu_eta"], rtol=1e-13, atol=0)
    if "eta" in ref:  # positive grids: g at those values as means
        np.testing.assert_allclose(link.link(eta), ref["linkfun"], rtol=1e-14)
    else:
        inside = eta[np.abs(eta) < 25]
        np.testing.assert_allclose(link.link(link.inverse(inside)), ref["linkfun"], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LINKS))
def test_derivative_of_the_inverse_link(name: str) -> None:
    """dμ/dη against a central difference of g⁻¹, where no clamp acts."""
    link = LINKS[name]
    eta = np.array([0.3, 0.8, 1.7]) if name not in ("logit", "probit", "cauchit") else (
        np.array([-2.0, -0.1, 0.5, 3.0])
    )
    h = 1e-6
    difference = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.mu_eta(eta), difference, rtol=1e-7)


@pytest.mark.parametrize("name", ["binomial", "poisson", "Gamma", "inverse_gaussian"])
def test_families_match_r(name: str) -> None:
    ref = R["families"][name]
    family = FAMILIES["inverse.gaussian" if name == "inverse_gaussian" else name]
    y, mu, wt = (np.asarray(ref[k], dtype=float) for k in ("y", "mu", "wt"))
    np.testing.assert_allclose(family.variance(mu), ref["variance"], rtol=1e-14)
    np.testing.assert_allclose(family.unit_deviance(y, mu, wt), ref["dev_resids"], rtol=1e-12)
    if "aic" in ref:
        assert family.aic(y, mu, wt) == pytest.approx(ref["aic"], rel=1e-12)


def test_unit_deviance_is_zero_at_the_data_and_positive_elsewhere() -> None:
    """d(y, μ) ≥ 0 with equality at μ = y: the deviance's defining property."""
    y = np.array([0.2, 0.5, 0.9])
    for family in FAMILIES.values():
        wt = np.ones_like(y)
        np.testing.assert_allclose(family.unit_deviance(y, y, wt), 0.0, atol=1e-15)
        assert np.all(family.unit_deviance(y, y * 0.8, wt) > 0)


def test_default_and_named_links() -> None:
    assert link_of(FAMILIES["binomial"], None).name == "logit"
    assert link_of(FAMILIES["poisson"], "sqrt").name == "sqrt"
    with pytest.raises(ValueError, match="'logitt' is not one of"):
        link_of(FAMILIES["binomial"], "logitt")


def test_cbind_response_is_read_by_the_allow_list_and_named_for_lmer() -> None:
    """cbind(successes, failures), lme4's binomial response: both columns checked as data by
    the allow-list (code in either is refused before anything runs), and a linear model says
    what it is instead of failing on two columns."""
    import pandas as pd

    import mixedfx as mfx
    from mixedfx.data.columns import evaluate

    data = pd.read_csv(Path(__file__).parent / "data/glmm/cbpp.csv", dtype={"herd": str})
    both = evaluate("0 + I(cbind(incidence, size - incidence))", data).to_numpy()
    failures = data["size"] - data["incidence"]
    np.testing.assert_array_equal(both, np.column_stack([data["incidence"], failures]))
    with pytest.raises(mfx.DataError, match="is a binomial one"):
        mfx.lmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", data, safe=True)
    for bad in ("cbind(incidence, __import__('os'))", "cbind(*incidence)", "cbind(a, b, c)"):
        with pytest.raises(mfx.FormulaError):
            mfx.check_formula(f"{bad} ~ period + (1 | herd)", data.columns)
